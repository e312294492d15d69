// `scepter ra renew`: a new key and certificate for one RA pair, issued by
// the CA under the old certificate's name, the old pair kept as .prev.
#include "ca_import.h"
#include "demo_pki.h"
#include "x509_build.h"

#include "scepter/admin.h"
#include "scepter/files.h"

#include <openssl/err.h>

#include <filesystem>

namespace scepter::cli {
namespace {

// path → path.prev, replacing an older .prev.
void keep_previous(const std::string& path) {
    std::error_code ignored;
    std::filesystem::rename(path, path + ".prev", ignored);
}

std::string not_after_text(X509* cert) {
    char until[64] = "";
    ossl::Bio text(BIO_new(BIO_s_mem()));
    ASN1_TIME_print(text.get(), X509_get0_notAfter(cert));
    BIO_read(text.get(), until, sizeof until - 1);
    return until;
}

}  // namespace

std::string renew_ra_pair(const Config& cfg, const KeyPairFiles& ra, const char* key_usage) {
    ERR_clear_error();
    ossl::X509Ptr ca_cert = read_pem_cert(cfg.ca.cert);
    // A CA key in a token signs there (scepter config check has matched it to ca.cert).
    ossl::PKey ca_key = cfg.ca_token ? load_token_private_key(*cfg.ca_token) : read_pem_key(cfg.ca.key);
    ossl::X509Ptr old = read_pem_cert(ra.cert);
    Issued renewed{generate_rsa_key(kRaRsaBits), nullptr};
    renewed.cert = issue({common_name_of(old.get()), ra_days_under(ca_cert.get()), false, key_usage,
                          X509_get_subject_name(old.get())},
                         renewed.key.get(), ca_cert.get(), ca_key.get());
    keep_previous(ra.key);
    keep_previous(ra.cert);
    write_key(ra.key, renewed.key.get());
    write_new_file(ra.cert, cert_pem(renewed.cert.get()), 0644);
    return ra.cert + ": renewed until " + not_after_text(renewed.cert.get()) + " (the previous pair kept as .prev)";
}

}  // namespace scepter::cli
