// Small text helpers of the core that its tools print with.
#pragma once

#include <string>

namespace scepter {

// The text as the inside of a JSON string: quotes, backslashes and control
// characters escaped. (The core's own, as the audit log writes it.)
std::string json_escape(const std::string& s);

}  // namespace scepter
