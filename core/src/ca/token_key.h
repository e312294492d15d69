// A private key kept inside a PKCS#11 token, reached through OpenSSL's
// `pkcs11` engine (libp11, Debian's libengine-pkcs11-openssl). The key never
// leaves the token: OpenSSL hands every signature to the module.
//
// Per process: a PKCS#11 session does not survive fork(), so the engine and
// the key are loaded where they are used (a web server's worker after fork,
// the CLI, a configuration check that exits) and never in nginx's master or
// Apache's parent. The engine stays loaded for the life of the process.
#pragma once

#include "scepter/config.h"
#include "scepter/ossl.h"

#include <stdexcept>

namespace scepter {

// The token refused the PIN (incorrect, locked, expired): trying again with
// the same PIN would only bring a real token closer to locking it.
struct TokenPinError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The private key the settings' URI names, logged in with the PIN from the
// settings' PIN file (which is wiped from memory once handed to the engine,
// and never appears in an error). Never prompts. Throws std::runtime_error
// saying which of the engine, the module, the PIN file, the login or the
// object failed.
ossl::PKey load_token_key(const TokenKeySettings& settings);

}  // namespace scepter
