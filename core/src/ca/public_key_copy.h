// Copies a SubjectPublicKeyInfo's fields into another X509_PUBKEY without an
// EVP_PKEY: X509_PUBKEY_set and d2i_X509_PUBKEY would run OpenSSL 3.0's key
// encoder or decoder (about 0.1 ms each) for bytes that are already right.
#pragma once

#include <openssl/x509.h>

namespace scepter {

// to's algorithm (OID and parameters) and key bits become copies of alg's and
// key's. Throws std::runtime_error when OpenSSL cannot allocate.
void set_public_key(X509_PUBKEY* to, const X509_ALGOR* alg, const unsigned char* key, int key_len);

}  // namespace scepter
