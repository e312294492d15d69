// What a device's CSR may hold, checked once when it is read, before any
// state changes: names of bounded length without NUL or control characters
// (a NUL would let "CN=good\0.evil" match a pattern on the whole value yet
// print as "good"), a bounded number of SANs, and a public key that is safe
// to certify.
#pragma once

#include "ca/csr.h"
#include "scepter/config.h"

#include <string>

namespace scepter {

// Throws ScepFailure(bad_request) naming `what` when value is longer than
// max_bytes or holds a byte below 0x20 or 0x7F.
void check_name_text(const std::string& what, const std::string& value, std::size_t max_bytes);

// The subject's attributes, the whole subject and the SANs against limits.
// Throws ScepFailure(bad_request).
void check_csr_names(const CsrInfo& csr, const InputLimits& limits);

// RSA: an odd public exponent of at least 65537, at most 16384 bits. EC: a
// named curve from the allow-list (P-256, P-384, P-521), never explicit
// parameters. Other key types are not certified. Throws ScepFailure (badAlg
// for a curve or key type we do not certify, badRequest for a weak key).
void check_public_key(EVP_PKEY* key);

}  // namespace scepter
