// base64 with OpenSSL's block codec: CSRs for the external validation
// service and the status records, SCEP's GET message parameter.
#include "scepter/text.h"

#include <openssl/evp.h>

namespace scepter {

std::string base64_encode(const unsigned char* data, std::size_t len) {
    std::string out(4 * ((len + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, int(len));
    out.resize(n > 0 ? std::size_t(n) : 0);
    return out;
}

std::string base64_encode(const std::vector<unsigned char>& data) { return base64_encode(data.data(), data.size()); }

std::optional<std::vector<unsigned char>> base64_decode(std::string_view text) {
    std::string clean;
    clean.reserve(text.size());
    for (char c : text) {
        if (c == '\r' || c == '\n') continue;
        clean += c == ' ' ? '+' : c;
    }
    if (clean.empty() || clean.size() % 4 != 0) return std::nullopt;
    std::vector<unsigned char> out(clean.size() / 4 * 3);
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
