#include "scepter/text.h"

#include <cctype>
#include <charconv>

namespace scepter {

std::optional<std::int64_t> parse_int(const std::string& text, int base) {
    // from_chars takes no space or '+', but would take a '-': a leading digit
    // is what keeps "-1" and " 1" out, as the header promises.
    if (text.empty() || !std::isxdigit(static_cast<unsigned char>(text.front()))) return std::nullopt;
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [stop, error] = std::from_chars(text.data(), end, value, base);
    if (error != std::errc() || stop != end) return std::nullopt;
    return value;
}

}  // namespace scepter
