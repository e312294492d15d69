// ca.key: a PEM file, or an RFC 7512 `pkcs11:` URI naming a private key
// inside a token, with ca.pkcs11_module and ca.key_pin_file beside it.
#pragma once

#include "config/config_yaml.h"
#include "scepter/config.h"

#include <string>

namespace scepter {

// Why a pkcs11: URI cannot name a private key (the CA's, an RA's), or "" when it can:
// well-formed path attributes (RFC 7512 section 2.3), an object or id, type
// private when given, and no PIN or module in the URI itself (those come
// from ca.key_pin_file and ca.pkcs11_module, so the YAML never holds a PIN).
std::string pkcs11_uri_problem(const std::string& uri);

// Reads ca.cert, ca.key and, for a pkcs11: key, the module and the PIN
// file (both must be readable; the PIN is not read here). Throws ConfigError.
void read_ca_key(const YamlSection& ca, Config& cfg);

}  // namespace scepter
