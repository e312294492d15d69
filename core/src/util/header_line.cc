#include "util/header_line.h"

namespace scepter {

std::string header_line_problem(const std::string& line) {
    if (line.find_first_of("\r\n") != std::string::npos) return "contains a line break";
    auto colon = line.find(':');
    if (colon == std::string::npos) return "has no colon (\"Name: value\")";
    if (colon == 0) return "has no name before the colon";
    // a name is an RFC 9110 token: visible ASCII without separators
    for (unsigned char c : line.substr(0, colon)) {
        if (c <= 0x20 || c >= 0x7f || std::string("\"(),/:;<=>?@[\\]{}").find(char(c)) != std::string::npos)
            return "has a name that is not an HTTP token";
    }
    return "";
}

}  // namespace scepter
