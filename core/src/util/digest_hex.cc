#include "util/digest_hex.h"

#include "codec/openssl_error.h"

namespace scepter {

std::string to_hex(const unsigned char* data, std::size_t len) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (std::size_t i = 0; i < len; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

std::string digest_hex(const std::string& data, const EVP_MD* md) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    check(EVP_Digest(data.data(), data.size(), buf, &len, md, nullptr) == 1, "EVP_Digest");
    return to_hex(buf, len);
}

}  // namespace scepter
