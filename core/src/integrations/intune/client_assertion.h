// Entra ID's certificate credential: a client assertion, a JWT signed with
// the application's key (RFC 7523; Microsoft's "certificate credentials"
// page). Header {"alg":"RS256","typ":"JWT","x5t":base64url(SHA-1 of the
// certificate's DER)}; claims aud = the token endpoint, iss = sub = the
// client ID, a fresh jti, nbf/iat = now and exp = now + lifetime.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>

namespace scepter {

// Throws std::runtime_error when OpenSSL cannot sign.
std::string client_assertion(X509* cert, EVP_PKEY* key, const std::string& client_id, const std::string& audience,
                             std::int64_t now, int lifetime_seconds = 600);

// RFC 4648 section 5, no padding.
std::string base64url(const std::string& bytes);

}  // namespace scepter
