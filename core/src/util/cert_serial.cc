#include "scepter/cert_serial.h"

#include "scepter/ossl.h"

namespace scepter {

std::string serial_hex(const BIGNUM* serial) {
    ossl::Buffer<char> hex(serial ? BN_bn2hex(serial) : nullptr);
    return hex ? hex.get() : "";
}

std::string serial_hex(const ASN1_INTEGER* serial) {
    ossl::Bignum bn(serial ? ASN1_INTEGER_to_BN(serial, nullptr) : nullptr);
    return serial_hex(bn.get());
}

}  // namespace scepter
