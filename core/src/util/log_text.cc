#include "scepter/text.h"

#include <cstdio>

namespace scepter {

std::string log_safe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (unsigned char c : text) {
        if (c >= 0x20 && c != 0x7F) {
            out += char(c);
            continue;
        }
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\x%02X", unsigned(c));
        out += esc;
    }
    return out;
}

}  // namespace scepter
