#include "ca/crl.h"
#include "scepter/der.h"

#include "scepter/openssl_error.h"

#include <openssl/x509v3.h>

#include <ctime>

namespace scepter {
namespace {

ossl::Asn1Integer serial_of(const std::string& hex) {
    BIGNUM* raw = nullptr;
    check(BN_hex2bn(&raw, hex.c_str()) > 0, "BN_hex2bn");
    ossl::Bignum bn(raw);
    ossl::Asn1Integer out(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    check(out != nullptr, "BN_to_ASN1_INTEGER");
    return out;
}

void add_revoked(X509_CRL* crl, const RevokedCert& r) {
    ossl::Revoked entry(X509_REVOKED_new());
    check(entry != nullptr, "X509_REVOKED_new");
    check(X509_REVOKED_set_serialNumber(entry.get(), serial_of(r.serial_hex).get()) == 1, "revoked serial");
    ossl::Asn1Time when(ASN1_TIME_set(nullptr, time_t(r.revoked_at)));
    check(when && X509_REVOKED_set_revocationDate(entry.get(), when.get()) == 1, "revocationDate");
    // RFC 5280 §5.3.1: leave the reason out rather than say "unspecified".
    if (r.reason > 0) {
        ossl::Owned<ASN1_ENUMERATED, ASN1_ENUMERATED_free> code(ASN1_ENUMERATED_new());
        check(code && ASN1_ENUMERATED_set(code.get(), r.reason) == 1, "reasonCode");
        check(X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, code.get(), 0, 0) == 1, "reasonCode");
    }
    check(X509_CRL_add0_revoked(crl, entry.get()) == 1, "X509_CRL_add0_revoked");
    entry.release();  // the CRL owns it now
}

void add_crl_extensions(X509_CRL* crl, const KeyPair& ca, std::int64_t number) {
    ossl::Asn1Integer n(ASN1_INTEGER_new());
    check(n && ASN1_INTEGER_set_int64(n.get(), number) == 1, "crlNumber");
    check(X509_CRL_add1_ext_i2d(crl, NID_crl_number, n.get(), 0, 0) == 1, "crlNumber");
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca.cert.get(), nullptr, nullptr, crl, 0);
    ossl::X509Ext aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
    check(aki && X509_CRL_add_ext(crl, aki.get(), -1) == 1, "authorityKeyIdentifier");
}

}  // namespace

CrlRecord publish_crl(const Config& cfg, const CaMaterial& ca, Store& store) {
    clear_openssl_errors();
    CrlRecord rec;
    rec.number = store.next_crl_number();
    rec.this_update = std::time(nullptr);
    rec.next_update = rec.this_update + std::int64_t(cfg.crl.validity_hours) * 3600;
    ossl::Crl crl(X509_CRL_new());
    check(crl && X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) == 1, "X509_CRL_new");
    check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.ca.cert.get())) == 1, "CRL issuer");
    ossl::Asn1Time last(ASN1_TIME_set(nullptr, time_t(rec.this_update)));
    ossl::Asn1Time next(ASN1_TIME_set(nullptr, time_t(rec.next_update)));
    check(last && next && X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1 &&
              X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1,
          "CRL times");
    for (const auto& r : store.list_revoked()) add_revoked(crl.get(), r);
    X509_CRL_sort(crl.get());
    add_crl_extensions(crl.get(), ca.ca, rec.number);
    check(X509_CRL_sign(crl.get(), ca.ca.key.get(), ca_signature_digest(ca.ca.key.get())) > 0, "X509_CRL_sign");
    rec.der = to_der(crl.get(), i2d_X509_CRL);
    store.save_crl(rec);
    return rec;
}

CrlRecord current_crl(const Config& cfg, const CaMaterial& ca, Store& store) {
    auto latest = store.latest_crl();
    std::int64_t refresh_at = latest ? latest->next_update - std::int64_t(cfg.crl.refresh_hours) * 3600 : 0;
    if (latest && std::time(nullptr) < refresh_at) return *latest;
    return publish_crl(cfg, ca, store);
}

}  // namespace scepter
