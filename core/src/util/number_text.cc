#include "scepter/text.h"

#include <stdexcept>

namespace scepter {

std::optional<std::int64_t> parse_int(const std::string& text, int base) {
    std::size_t used = 0;
    try {
        long long v = std::stoll(text, &used, base);
        if (used == text.size() && !text.empty()) return v;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

}  // namespace scepter
