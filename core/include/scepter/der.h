// DER encoding of any OpenSSL object through its i2d_ function.
#pragma once

#include "scepter/openssl_error.h"
#include "scepter/ossl.h"
#include "scepter/pki_message.h"

#include <openssl/x509.h>

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

// The certificate in `der`, or null when it is not one (stored bytes, a
// file): the caller says what that means.
inline ossl::X509Ptr cert_from_der(const Bytes& der) {
    const unsigned char* p = der.data();
    return ossl::X509Ptr(d2i_X509(nullptr, &p, long(der.size())));
}

}  // namespace scepter
