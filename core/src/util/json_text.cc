// Writing JSON strings; the reader is util/json_flat.cc.
#include "scepter/text.h"

#include <cstdio>

namespace scepter {

std::string json_escape(std::string_view text) {
    std::string out;
    // Sanitised first: a raw invalid byte would make the whole document
    // unreadable to a strict parser (RFC 8259 section 8.1 wants UTF-8).
    for (unsigned char c : utf8_sanitize(text)) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
        }
    }
    return out;
}

std::string json_quote(std::string_view text) { return "\"" + json_escape(text) + "\""; }

}  // namespace scepter
