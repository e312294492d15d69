// Lower-case hex of digests: thumbprints, hashed secrets. (Hex of plain
// bytes is to_hex, scepter/text.h.)
#pragma once

#include "scepter/text.h"

#include <openssl/evp.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace scepter {

std::string digest_hex(const std::string& data, const EVP_MD* md);

// A digest of digest_len bytes that an admin wrote in hex (either case), in
// digest_hex's lower-case form, so that comparing with a freshly computed
// digest_hex is a plain byte comparison; nullopt when text is not one.
std::optional<std::string> canonical_digest_hex(std::string_view text, std::size_t digest_len);

}  // namespace scepter
