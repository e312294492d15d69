// Reading one certificate template (templates.NAME in scepter.yaml).
#pragma once

#include "config/config_yaml.h"
#include "scepter/config.h"

#include <string>

namespace scepter {

// Throws ConfigError pointing at the offending key.
Template read_template(const YamlSection& s, const std::string& name);

}  // namespace scepter
