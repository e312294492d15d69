#include "store/cert_match.h"

#include <cctype>
#include <string_view>
#include <vector>

namespace scepter {
namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The CN values of an RFC 2253 name ("CN=a\,b,O=x" gives "a,b"): the
// attributes split at unescaped ',' and '+', the escapes ("\," and "\2C")
// undone.
std::vector<std::string> subject_cns(const std::string& name) {
    std::vector<std::string> out;
    std::string type, value;
    bool in_value = false;
    auto finish = [&] {
        if (in_value && type == "CN") out.push_back(value);
        type.clear();
        value.clear();
        in_value = false;
    };
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        if (c == '\\' && i + 1 < name.size()) {
            int hi = hex_digit(name[i + 1]);
            int lo = i + 2 < name.size() ? hex_digit(name[i + 2]) : -1;
            char plain = name[i + 1];
            if (hi >= 0 && lo >= 0) {
                plain = char(hi * 16 + lo);
                i += 2;
            } else {
                i += 1;
            }
            (in_value ? value : type) += plain;
        } else if (c == ',' || c == '+') {
            finish();
        } else if (c == '=' && !in_value) {
            in_value = true;
        } else {
            (in_value ? value : type) += c;
        }
    }
    finish();
    return out;
}

// One SAN entry equals `want` given as "type:value" (type in any case) or
// as the value alone. Entries are stored as "type:value" joined by ", ".
bool san_matches(const std::string& sans, const std::string& want) {
    std::size_t start = 0;
    while (start <= sans.size()) {
        std::size_t end = sans.find(", ", start);
        if (end == std::string::npos) end = sans.size();
        std::string entry = sans.substr(start, end - start);
        std::size_t colon = entry.find(':');
        if (colon != std::string::npos) {
            if (entry.compare(colon + 1, std::string::npos, want) == 0) return true;
            std::string type = entry.substr(0, colon);
            if (want.size() > colon && want[colon] == ':' && want.compare(colon + 1, std::string::npos, entry,
                                                                            colon + 1, std::string::npos) == 0) {
                bool same_type = true;
                for (std::size_t i = 0; i < colon; ++i)
                    same_type = same_type && std::tolower((unsigned char)type[i]) == std::tolower((unsigned char)want[i]);
                if (same_type) return true;
            }
        }
        start = end + 2;
    }
    return false;
}

// A value with RFC 2253 special characters is spelled escaped in the stored
// subject, so a substring of it cannot narrow the search.
bool plain_in_subject(const std::string& value) {
    for (unsigned char c : value)
        if (c < 0x20 || c >= 0x7f || std::string_view(",+\"\\<>;#= ").find(char(c)) != std::string_view::npos)
            return false;
    return true;
}

}  // namespace

std::string narrowing_text(const CertMatch& match) {
    // The SAN value alone is in the joined text as it is; a "type:value" only
    // in its stored spelling of the type, so it narrows by the value part.
    std::string narrow = match.value;
    if (match.field == CertMatch::Field::subject_cn) {
        if (!plain_in_subject(narrow)) narrow.clear();
    } else if (std::size_t colon = narrow.find(':'); colon != std::string::npos) {
        narrow = narrow.substr(colon + 1);
    }
    return narrow;
}

bool cert_matches(const CertMatch& match, const IssuedCert& cert) {
    if (match.field == CertMatch::Field::subject_cn) {
        for (const auto& cn : subject_cns(cert.subject))
            if (cn == match.value) return true;
        return false;
    }
    return san_matches(cert.sans, match.value);
}

}  // namespace scepter
