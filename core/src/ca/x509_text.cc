#include "ca/x509_text.h"

#include "scepter/ossl.h"

#include <ctime>
#include <stdexcept>

namespace scepter {

std::string name_text(const X509_NAME* name) {
    ossl::Bio mem(BIO_new(BIO_s_mem()));
    if (!mem || X509_NAME_print_ex(mem.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
        throw std::runtime_error("a name cannot be printed");
    char* data = nullptr;
    long len = BIO_get_mem_data(mem.get(), &data);
    return std::string(data, std::size_t(len > 0 ? len : 0));
}

std::int64_t unix_time(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) throw std::runtime_error("a certificate time cannot be read");
    return std::int64_t(timegm(&tm));
}

}  // namespace scepter
