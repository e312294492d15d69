// Warnings, at configuration time, for CA and RA certificates close to the
// end of their validity: a lapsed RA certificate stops every enrollment
// (devices refuse to encrypt to it), and nobody reads the notAfter dates.
#pragma once

#include "ca/ca_material.h"

#include <cstdint>
#include <string>
#include <vector>

namespace scepter {

// How far ahead the configuration warns.
constexpr int kExpiryWarningDays = 30;

// One line per certificate (CA, chain, RA pairs) that expires within `days`
// of `now` or has expired, naming it, its key in the configuration and the date.
std::vector<std::string> expiry_warnings(const CaMaterial& ca, std::int64_t now, int days = kExpiryWarningDays);

}  // namespace scepter
