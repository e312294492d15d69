// Lower-case hex of bytes and of their digests: thumbprints, hashed secrets.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <string>

namespace scepter {

std::string to_hex(const unsigned char* data, std::size_t len);
std::string digest_hex(const std::string& data, const EVP_MD* md);

}  // namespace scepter
