// A certificate serial number as the store keeps it and admins type it:
// upper-case hex, BN_bn2hex's form ("0A1B2C", "-01" for a negative one).
#pragma once

#include <openssl/asn1.h>
#include <openssl/bn.h>

#include <string>

namespace scepter {

// Both return "" when OpenSSL cannot convert the number (out of memory, a
// malformed INTEGER): callers decide whether that is a client's mistake.
std::string serial_hex(const BIGNUM* serial);
std::string serial_hex(const ASN1_INTEGER* serial);

}  // namespace scepter
