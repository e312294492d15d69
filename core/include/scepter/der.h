// DER encoding of any OpenSSL object through its i2d_ function.
#pragma once

#include "scepter/openssl_error.h"
#include "scepter/pki_message.h"

namespace scepter {

template <typename T>
Bytes to_der(const T* obj, int (*i2d)(const T*, unsigned char**)) {
    int len = i2d(obj, nullptr);
    check(len > 0, "DER encoding");
    Bytes out(static_cast<std::size_t>(len));
    unsigned char* p = out.data();
    check(i2d(obj, &p) == len, "DER encoding");
    return out;
}

}  // namespace scepter
