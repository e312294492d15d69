// Query-string handling for SCEP's GET operations.
#pragma once

#include "scepter/pki_message.h"

#include <map>
#include <optional>
#include <string>

namespace scepter {

// Splits and percent-decodes a query string. '+' is kept as '+': SCEP's
// base64 message is often sent unescaped (macOS does), so it is not a space
// (base64_decode, scepter/text.h, reads a space as '+' all the same).
std::map<std::string, std::string> parse_query(const std::string& query);

// %XX sequences to bytes; anything else, '+' and a stray '%' included, as is.
std::string percent_decode(const std::string& s);

}  // namespace scepter
