// Text for an HTML page built from what clients sent (the audit trail holds
// subjects, user agents and transaction IDs chosen by devices).
#pragma once

#include <string>
#include <string_view>

namespace scepter {

// Safe between tags and inside a double-quoted attribute, for ANY bytes:
// invalid UTF-8 replaced (utf8_sanitize), & < > " ' as entities, control
// characters but tab and line feed dropped.
std::string html_escape(std::string_view text);

// A query-string value: every byte but A-Z a-z 0-9 - . _ ~ percent-encoded,
// so a link carries it back unchanged (then html_escape the whole link).
std::string url_encode(std::string_view text);

}  // namespace scepter
