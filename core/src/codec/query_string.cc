#include "codec/query_string.h"

#include <openssl/evp.h>

namespace scepter {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < s.size() && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
            out += char(hi * 16 + lo);
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

std::map<std::string, std::string> parse_query(const std::string& query) {
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start <= query.size()) {
        std::size_t end = query.find('&', start);
        if (end == std::string::npos) end = query.size();
        std::string pair = query.substr(start, end - start);
        std::size_t eq = pair.find('=');
        if (!pair.empty())
            out.emplace(percent_decode(pair.substr(0, eq)),
                        eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1)));
        start = end + 1;
    }
    return out;
}

std::optional<Bytes> decode_base64(const std::string& text) {
    std::string clean;
    clean.reserve(text.size());
    for (char c : text) {
        if (c == '\r' || c == '\n') continue;
        clean += c == ' ' ? '+' : c;
    }
    if (clean.empty() || clean.size() % 4 != 0) return std::nullopt;
    Bytes out(clean.size() / 4 * 3);
    int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()), int(clean.size()));
    if (len < 0) return std::nullopt;
    // EVP_DecodeBlock counts padding as data; drop one byte per '='.
    std::size_t pad = 0;
    for (std::size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i) ++pad;
    if (pad > 2) return std::nullopt;
    out.resize(std::size_t(len) - pad);
    return out;
}

}  // namespace scepter
