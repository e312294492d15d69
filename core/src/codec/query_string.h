// Query-string handling for SCEP's GET operations.
#pragma once

#include "scepter/pki_message.h"

#include <map>
#include <optional>
#include <string>

namespace scepter {

// Splits and percent-decodes a query string. '+' is kept as '+': SCEP's
// base64 message is often sent unescaped (macOS does), so it is not a space.
std::map<std::string, std::string> parse_query(const std::string& query);

// Decodes base64, tolerating line breaks and spaces that stood for '+'.
// Returns nullopt for anything that is not base64.
std::optional<Bytes> decode_base64(const std::string& text);

}  // namespace scepter
