// What the CA room reads out of X.509 structures as text or numbers, once.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <string>

namespace scepter {

// A name in RFC 2253's one-line form, UTF-8 kept as UTF-8.
std::string name_text(const X509_NAME* name);

// An ASN1_TIME as seconds since the epoch; throws when it cannot be read.
std::int64_t unix_time(const ASN1_TIME* t);

}  // namespace scepter
