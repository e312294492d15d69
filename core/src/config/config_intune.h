// The `intune:` block of a profile (scepter.yaml(5), docs/INTUNE.md).
#pragma once

#include "config/config_yaml.h"

namespace scepter {

// Reads and checks the block; the client secret's file is read here, so a
// file only root can read works with workers that run as another user.
// Nothing of the secret goes into an error message.
IntuneSettings read_intune(const YamlSection& s);

}  // namespace scepter
