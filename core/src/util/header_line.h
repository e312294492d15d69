// One extra HTTP request header as the configuration gives it ("Name: value"),
// checked once at configuration time and again where it is used.
#pragma once

#include <string>

namespace scepter {

// Why `line` is not a "Name: value" header on one line, or "" when it is.
std::string header_line_problem(const std::string& line);

}  // namespace scepter
