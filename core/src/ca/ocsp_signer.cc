// The OCSP responder's certificate: issued by the CA per worker and
// configuration generation with a key that never leaves memory, or read
// from the admin's files.
#include "ca/ocsp_signer.h"

#include "ca/x509_text.h"
#include "scepter/openssl_error.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace scepter {
namespace {

constexpr long kBackdateSeconds = 300;  // relying parties whose clocks run a little behind

// The CA's own kind of key: a relying party that verifies the CA's
// signatures verifies these too.
ossl::PKey responder_key(EVP_PKEY* ca_key) {
    clear_openssl_errors();
    if (EVP_PKEY_get_base_id(ca_key) == EVP_PKEY_EC) {
        char group[64] = {};
        check(EVP_PKEY_get_utf8_string_param(ca_key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, nullptr) == 1,
              "the CA key's curve");
        ossl::PKey key(EVP_EC_gen(group));
        check(key != nullptr, "EVP_EC_gen");
        return key;
    }
    ossl::PKey key(EVP_RSA_gen(2048));
    check(key != nullptr, "EVP_RSA_gen");
    return key;
}

void set_random_serial(X509* x) {
    unsigned char buf[16];
    check(RAND_bytes(buf, sizeof buf) == 1, "RAND_bytes");
    buf[0] |= 0x01;  // never zero
    ossl::Bignum bn(BN_bin2bn(buf, sizeof buf, nullptr));
    ossl::Asn1Integer serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
    check(serial && X509_set_serialNumber(x, serial.get()) == 1, "X509_set_serialNumber");
}

// "<the CA's CN> OCSP responder", so a relying party's log names whose it is.
void set_subject(X509* x, X509* ca) {
    std::string cn = "OCSP responder";
    X509_NAME* ca_name = X509_get_subject_name(ca);
    int i = X509_NAME_get_index_by_NID(ca_name, NID_commonName, -1);
    if (i >= 0) {
        ASN1_STRING* v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(ca_name, i));
        unsigned char* utf8 = nullptr;
        int len = ASN1_STRING_to_UTF8(&utf8, v);
        ossl::Buffer<unsigned char> owned(utf8);
        if (len > 0 && len < 40) cn = std::string(reinterpret_cast<char*>(utf8), std::size_t(len)) + " OCSP responder";
    }
    ossl::X509Name name(X509_NAME_new());
    check(name && X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                             reinterpret_cast<const unsigned char*>(cn.data()), int(cn.size()), -1,
                                             0) == 1,
          "responder subject");
    check(X509_set_subject_name(x, name.get()) == 1, "X509_set_subject_name");
}

void add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
    ossl::X509Ext ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
    check(ext && X509_add_ext(x, ext.get(), -1) == 1, OBJ_nid2sn(nid));
}

bool signs_ocsp(X509* cert) {
    return (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(cert) & XKU_OCSP_SIGN) != 0;
}

}  // namespace

OcspSigner issue_ocsp_signer(const KeyPair& ca, int validity_hours, int next_update_hours) {
    OcspSigner s;
    s.pair.key = responder_key(X509_get0_pubkey(ca.cert.get()));  // the cert's: a token key may not export its group
    s.pair.cert.reset(X509_new());
    X509* x = s.pair.cert.get();
    check(x != nullptr && X509_set_version(x, X509_VERSION_3) == 1, "X509_new");
    set_random_serial(x);
    set_subject(x, ca.cert.get());
    check(X509_set_issuer_name(x, X509_get_subject_name(ca.cert.get())) == 1, "X509_set_issuer_name");
    check(X509_gmtime_adj(X509_getm_notBefore(x), -kBackdateSeconds) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(x), long(validity_hours) * 3600) != nullptr, "notAfter");
    if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca.cert.get())) > 0)
        check(X509_set1_notAfter(x, X509_get0_notAfter(ca.cert.get())) == 1, "notAfter");
    check(X509_set_pubkey(x, s.pair.key.get()) == 1, "X509_set_pubkey");
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca.cert.get(), x, nullptr, nullptr, 0);
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
    add_ext(x, &ctx, NID_ext_key_usage, "OCSPSigning");
    add_ext(x, &ctx, NID_id_pkix_OCSP_noCheck, "ignored");  // the value is ASN.1 NULL whatever is written
    add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    check(X509_sign(x, ca.key.get(), ca_signature_digest(ca.key.get())) > 0, "X509_sign");
    s.not_after = unix_time(X509_get0_notAfter(x));
    s.renew_at = s.not_after - std::int64_t(next_update_hours) * 3600;
    return s;
}

OcspSigner load_ocsp_signer(const Config& cfg, const KeyPair& ca) {
    OcspSigner s;
    s.pair = read_pair(cfg, "ocsp", *cfg.ocsp.responder, "ocsp.responder_cert", "ocsp.responder_key");
    auto fail = [&](const std::string& why) {
        throw ConfigError(cfg.path, cfg.line_of("ocsp.responder_cert"), "ocsp.responder_cert", why);
    };
    if (X509_check_issued(ca.cert.get(), s.pair.cert.get()) != X509_V_OK)
        fail("the responder certificate is not issued by the CA (RFC 6960 §4.2.2.2: a delegated responder is)");
    if (!signs_ocsp(s.pair.cert.get())) fail("the responder certificate lacks extendedKeyUsage id-kp-OCSPSigning");
    s.not_after = unix_time(X509_get0_notAfter(s.pair.cert.get()));
    if (s.not_after <= std::int64_t(std::time(nullptr))) fail("the responder certificate has expired");
    return s;
}

}  // namespace scepter
