#include "scepter/ossl.h"
#include "scepter/text.h"

#include <openssl/pem.h>

#include <stdexcept>

namespace scepter {

std::string pem_encode(const std::vector<unsigned char>& der, const char* label) {
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio(bio.get(), label, "", der.data(), long(der.size())) <= 0) {
        throw std::runtime_error(std::string("cannot encode the ") + label + " as PEM");
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, std::size_t(len));
}

}  // namespace scepter
