#include "util/digest_hex.h"

#include "scepter/openssl_error.h"

namespace scepter {

std::string digest_hex(const std::string& data, const EVP_MD* md) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    check(EVP_Digest(data.data(), data.size(), buf, &len, md, nullptr) == 1, "EVP_Digest");
    return to_hex(buf, len);
}

std::optional<std::string> canonical_digest_hex(std::string_view text, std::size_t digest_len) {
    auto bytes = from_hex(text);
    if (!bytes || bytes->size() != digest_len) return std::nullopt;
    return to_hex(*bytes);
}

}  // namespace scepter
