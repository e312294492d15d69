// find_certs' exact comparison, shared by the stores: SQL narrows the
// candidates (by a plain substring where that is safe), then a certificate
// matches on one subject CN or one SAN entry, never on a substring of the
// joined text.
#pragma once

#include "scepter/store.h"

#include <string>

namespace scepter {

// The substring a store may narrow the candidates by (subject or sans
// column); empty: no narrowing is safe.
std::string narrowing_text(const CertMatch& match);

// The certificate matches a subject_cn or san CertMatch exactly.
bool cert_matches(const CertMatch& match, const IssuedCert& cert);

}  // namespace scepter
