#include "codec/query_string.h"

#include "scepter/text.h"

namespace scepter {

std::string percent_decode(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto byte = s[i] == '%' && i + 2 < s.size() ? from_hex(std::string_view(s).substr(i + 1, 2)) : std::nullopt;
        if (byte) {
            out += char(byte->front());
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

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

}  // namespace scepter
