#include "x509_build.h"

#include "scepter/files.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <stdexcept>

namespace scepter::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kSerialBytes = 16;  // 128 random bits (CA/B Forum asks for >= 64)
// Back-date notBefore a little so a client whose clock lags still accepts.
constexpr long kBackdateSeconds = 300;

void set_random_serial(X509* cert) {
    unsigned char bytes[kSerialBytes];
    ossl::Bignum bn;
    // All 128 bits random; DER adds a zero byte when the top bit is set,
    // still well under RFC 5280's 20 octets. Zero is not a valid serial.
    do {
        ossl_check(RAND_bytes(bytes, sizeof bytes) == 1, "drawing a serial number");
        bn.reset(BN_bin2bn(bytes, sizeof bytes, nullptr));
        ossl_check(bn != nullptr, "converting the serial number");
    } while (BN_is_zero(bn.get()));
    ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    ossl_check(serial != nullptr && X509_set_serialNumber(cert, serial.get()) == 1,
               "setting the serial number");
}

// base's attributes except its CNs (or O=Scepter Demo without a base), then
// CN=common_name last.
void set_subject(X509* cert, const X509_NAME* base, const std::string& common_name) {
    ossl::X509Name name(base != nullptr ? X509_NAME_dup(base) : X509_NAME_new());
    ossl_check(name != nullptr, "copying a name");
    for (int i; (i = X509_NAME_get_index_by_NID(name.get(), NID_commonName, -1)) >= 0;)
        X509_NAME_ENTRY_free(X509_NAME_delete_entry(name.get(), i));
    const auto* o = reinterpret_cast<const unsigned char*>("Scepter Demo");
    const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
    ossl_check((base != nullptr ||
                X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8, o, -1, -1, 0) == 1) &&
                   X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, cn, -1, -1, 0) == 1 &&
                   X509_set_subject_name(cert, name.get()) == 1,
               "setting the subject of " + common_name);
}

// value in openssl.cnf syntax ("critical,CA:TRUE"); issuer == cert when
// self-signed, which is what lets authorityKeyIdentifier find the SKI.
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ossl::X509Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    ossl_check(ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1,
               std::string("adding ") + OBJ_nid2sn(nid) + " = " + value);
}

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return std::string(data, std::size_t(len));
}

}  // namespace

void ossl_check(bool ok, const std::string& what) {
    if (ok) return;
    std::string why;
    while (unsigned long code = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        why += why.empty() ? buf : std::string("; ") + buf;
    }
    throw std::runtime_error(what + (why.empty() ? "" : " (" + why + ")"));
}

const std::vector<CaKeyChoice>& all_ca_key_choices() {
    static const std::vector<CaKeyChoice> choices = {
        {"ec:P-256", "P-256", 0}, {"ec:P-384", "P-384", 0},
        {"rsa:2048", nullptr, 2048}, {"rsa:3072", nullptr, 3072}, {"rsa:4096", nullptr, 4096},
    };
    return choices;
}

const CaKeyChoice& ca_key_choice(const std::string& spec) {
    for (const auto& c : all_ca_key_choices())
        if (spec == c.spec) return c;
    std::string known;
    for (const auto& c : all_ca_key_choices()) known += (known.empty() ? "" : "|") + std::string(c.spec);
    throw std::runtime_error("unknown CA key '" + spec + "' (" + known + ")");
}

ossl::PKey generate_rsa_key(int bits) {
    ossl::PKey key(EVP_RSA_gen(static_cast<unsigned>(bits)));
    ossl_check(key != nullptr, "generating an RSA-" + std::to_string(bits) + " key");
    return key;
}

ossl::PKey generate_key(const CaKeyChoice& c) {
    if (c.curve == nullptr) return generate_rsa_key(c.rsa_bits);
    ossl::PKey key(EVP_EC_gen(c.curve));
    ossl_check(key != nullptr, std::string("generating an EC ") + c.curve + " key");
    return key;
}

// SHA-384 for P-384 (RFC 5480 pairs the curve with the hash of its
// strength), SHA-256 otherwise.
const EVP_MD* digest_for(EVP_PKEY* signing_key) {
    return EVP_PKEY_get_base_id(signing_key) == EVP_PKEY_EC && EVP_PKEY_get_bits(signing_key) > 256
               ? EVP_sha384()
               : EVP_sha256();
}

ossl::X509Ptr issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key) {
    ossl::X509Ptr cert(X509_new());
    ossl_check(cert != nullptr && X509_set_version(cert.get(), X509_VERSION_3) == 1,
               "creating a certificate");
    set_random_serial(cert.get());
    set_subject(cert.get(), spec.name_base, spec.common_name);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    ossl_check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1 &&
                   X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) != nullptr &&
                   X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.days * 86400) != nullptr &&
                   X509_set_pubkey(cert.get(), subject_key) == 1,
               "filling in " + spec.common_name);
    add_extension(cert.get(), signer, NID_basic_constraints,
                  spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, spec.key_usage);
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (issuer != nullptr) add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    EVP_PKEY* signing_key = issuer_key != nullptr ? issuer_key : subject_key;
    ossl_check(X509_sign(cert.get(), signing_key, digest_for(signing_key)) > 0, "signing " + spec.common_name);
    return cert;
}

std::string cert_pem(X509* cert) {
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    ossl_check(bio != nullptr && PEM_write_bio_X509(bio.get(), cert) == 1, "encoding a certificate");
    return bio_contents(bio.get());
}

std::string request_pem(X509_REQ* req) {
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    ossl_check(bio != nullptr && PEM_write_bio_X509_REQ(bio.get(), req) == 1, "encoding the request");
    return bio_contents(bio.get());
}

void write_key(const fs::path& path, EVP_PKEY* key) {
    ossl::Bio bio(BIO_new(BIO_s_secmem()));
    ossl_check(bio != nullptr && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                                          nullptr, nullptr) == 1,
               "encoding a private key");
    std::string pem = bio_contents(bio.get());
    write_new_file(path.string(), pem, 0600);
    OPENSSL_cleanse(pem.data(), pem.size());
}

void write_pair(const fs::path& dir, const Issued& pair, const char* cert_file, const char* key_file) {
    write_key(dir / key_file, pair.key.get());
    write_new_file((dir / cert_file).string(), cert_pem(pair.cert.get()), 0644);
}

void refuse_existing_files(const fs::path& dir, const std::vector<std::string>& names) {
    for (const auto& name : names)
        if (fs::exists(fs::symlink_status(dir / name)))
            throw std::runtime_error((dir / name).string() + " already exists (use --force to replace it)");
}

std::string common_name_of(X509* cert) {
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return cn[0] ? cn : "Scepter";
}

long ra_days_under(X509* ca) {
    int ca_days = 0, ca_seconds = 0;
    ASN1_TIME_diff(&ca_days, &ca_seconds, nullptr, X509_get0_notAfter(ca));
    return std::min<long>(kRaDays, ca_days);
}

}  // namespace scepter::cli
