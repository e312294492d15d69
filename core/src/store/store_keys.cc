#include "store/store_keys.h"
#include "scepter/store.h"

#include <cctype>

namespace scepter {
namespace {

// Hex digits of text in the given case; separators dropped. Empty optional
// on any other character.
std::optional<std::string> hex_digits(std::string_view text, bool upper) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == ':' || c == ' ') continue;
        if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return std::nullopt;
        out += char(upper ? std::toupper(static_cast<unsigned char>(c))
                          : std::tolower(static_cast<unsigned char>(c)));
    }
    if (out.empty()) return std::nullopt;
    return out;
}

}  // namespace

std::optional<std::string> canonical_serial(std::string_view text) {
    auto hex = hex_digits(text, true);
    if (!hex) return std::nullopt;
    std::size_t first = hex->find_first_not_of('0');
    std::string digits = first == std::string::npos ? "0" : hex->substr(first);
    if (digits.size() % 2 != 0) digits.insert(digits.begin(), '0');
    return digits;
}

std::optional<std::string> canonical_thumbprint(std::string_view text) {
    return hex_digits(text, false);
}

std::string stored_serial(const std::string& serial) {
    auto canonical = canonical_serial(serial);
    if (!canonical) throw StoreError("serial '" + serial + "' is not hex");
    return *canonical;
}

std::string stored_thumbprint(const std::string& hex, const char* which) {
    auto canonical = canonical_thumbprint(hex);
    if (!canonical) throw StoreError(std::string(which) + " thumbprint '" + hex + "' is not hex");
    return *canonical;
}

const std::string& checked_lease_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 100;
    for (unsigned char c : name)
        if (!std::isalnum(c) && c != '-' && c != '.' && c != '_' && c != ':') ok = false;
    if (!ok) throw StoreError("a leader lease name may hold only letters, digits, '-', '.', '_' and ':' (1 to 100)");
    return name;
}

}  // namespace scepter
