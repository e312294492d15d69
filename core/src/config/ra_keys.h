// ra: one pair (cert, key) or signing: and encryption: pairs. A key is a PEM
// file, or a pkcs11: URI in the CA key's token (ca.pkcs11_module and
// ca.key_pin_file: one module and one PIN for every key a node keeps there).
#pragma once

#include "config/config_yaml.h"
#include "scepter/config.h"

namespace scepter {

// Reads the ra: section into cfg.ra_signing / ra_encryption and, for a URI,
// ra_signing_token / ra_encryption_token. Needs ca: read first (cfg.ca_token).
// Throws ConfigError at the offending key.
void read_ra(const YamlSection& ra, Config& cfg);

}  // namespace scepter
