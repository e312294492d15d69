// What a device builds before it sends anything: its key, its CSR, the
// throw-away self-signed signer certificate, the choice of the certificate
// it encrypts to. Shared by `request` (one message) and `batch` (many).
#include "testclient.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace scepter::testclient {
namespace {

void add_ext(X509* cert, int nid, const char* value, EVP_PKEY* key) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    if (X509V3_set_issuer_pkey(&ctx, key) != 1) throw_openssl("X509V3_set_issuer_pkey");
    ossl::X509Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) throw_openssl(std::string("extension ") + value);
}

void set_random_serial(X509* cert) {
    unsigned char raw[12];
    if (RAND_bytes(raw, sizeof raw) != 1) throw_openssl("RAND_bytes");
    raw[0] &= 0x7f;  // positive
    raw[0] |= 0x01;  // and no leading zero byte
    ossl::Bignum bn(BN_bin2bn(raw, sizeof raw, nullptr));
    if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr)
        throw_openssl("serial number");
}

bool can_encrypt(X509* cert) {
    uint32_t ku = X509_get_key_usage(cert);  // UINT32_MAX: no keyUsage extension
    return ku != UINT32_MAX && (ku & KU_KEY_ENCIPHERMENT) != 0;
}

}  // namespace

bool is_ca(X509* cert) { return X509_check_ca(cert) != 0; }

ossl::X509Ptr make_signer(EVP_PKEY* key, const X509_NAME* subject, bool critical_aki) {
    ossl::X509Ptr cert(X509_new());
    if (!cert) throw_openssl("X509_new");
    X509* x = cert.get();
    set_random_serial(x);
    if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, subject) != 1 ||
        X509_set_issuer_name(x, subject) != 1 || X509_set_pubkey(x, key) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -3600) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600) == nullptr)
        throw_openssl("building the signer certificate");
    if (critical_aki) {
        add_ext(x, NID_subject_key_identifier, "hash", key);
        add_ext(x, NID_authority_key_identifier, "critical,keyid:always", key);
    }
    if (X509_sign(x, key, EVP_sha256()) == 0) throw_openssl("X509_sign");
    return cert;
}

std::vector<X509*> pick_recipients(const std::vector<ossl::X509Ptr>& certs, const std::string& how,
                                   ossl::X509Ptr& from_file) {
    std::vector<X509*> out;
    if (how == "all") {
        for (auto& c : certs) out.push_back(c.get());
        return out;
    }
    if (how != "auto") {
        from_file = read_cert(how);
        return {from_file.get()};
    }
    for (auto& c : certs)
        if (!is_ca(c.get()) && can_encrypt(c.get())) return {c.get()};
    for (auto& c : certs)
        if (!is_ca(c.get())) return {c.get()};
    return {certs.front().get()};
}

ossl::X509Req make_csr(EVP_PKEY* key, const std::string& common_name, const std::string& challenge) {
    ossl::X509Req req(X509_REQ_new());
    if (!req) throw_openssl("X509_REQ_new");
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
    const auto* pw = reinterpret_cast<const unsigned char*>(challenge.c_str());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
        X509_REQ_set_pubkey(req.get(), key) != 1 ||
        X509_REQ_add1_attr_by_NID(req.get(), NID_pkcs9_challengePassword, MBSTRING_ASC, pw, -1) != 1 ||
        X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0)
        throw_openssl("building the CSR");
    return req;
}

Bytes csr_der(X509_REQ* csr) {
    unsigned char* der = nullptr;
    int n = i2d_X509_REQ(csr, &der);
    if (n <= 0) throw_openssl("i2d_X509_REQ");
    ossl::Buffer<unsigned char> owned(der);
    return Bytes(der, der + n);
}

std::string public_key_sha256_hex(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key, &der);
    if (n <= 0) throw_openssl("i2d_PUBKEY");
    ossl::Buffer<unsigned char> owned(der);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(der, static_cast<size_t>(n), md, &mdlen, EVP_sha256(), nullptr) != 1)
        throw_openssl("EVP_Digest");
    return to_hex(md, mdlen);
}

std::string private_key_to_pem(EVP_PKEY* key) {
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw_openssl("PEM_write_bio_PrivateKey");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace scepter::testclient
