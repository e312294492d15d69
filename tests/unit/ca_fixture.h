// Shared by the CA's unit tests: CSRs built with OpenSSL as a device would,
// a small CA, templates, and readers for what an issued certificate says.
#pragma once

#include <memory>

#include "ca/ca_material.h"
#include "ca/csr.h"
#include "scepter/config.h"
#include "scepter/ossl.h"

#include "test_keys.h"

#include <openssl/ec.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace scepter::test {

// What a device puts into its PKCS#10. Extension fields use OpenSSL's
// configuration syntax ("DNS:a.example,email:b@example"); empty: absent.
struct CsrSpec {
    std::vector<std::pair<std::string, std::string>> subject{{"CN", "device-1"}};
    std::string sans;
    std::string key_usage;
    std::string extended_key_usage;
    bool ask_for_ca = false;
    // added as given after the others, repeats included ("DER:hex" for raw bytes)
    std::vector<std::pair<int, std::string>> more_extensions;
    // Microsoft's EnrollmentNameValuePair attributes (1.3.6.1.4.1.311.13.2.1),
    // BMPString name and value, one attribute value each
    std::vector<std::pair<std::string, std::string>> name_value_pairs;
};

// DER of one EnrollmentNameValuePair: SEQUENCE { BMPString, BMPString }.
inline Bytes name_value_pair_der(const std::string& name, const std::string& value) {
    Bytes out{0x30, 0};  // the length byte is set once the body is there
    for (const std::string* s : {&name, &value}) {
        out.push_back(0x1E);
        out.push_back(static_cast<unsigned char>(s->size() * 2));
        for (char ch : *s) {
            out.push_back(0);
            out.push_back(static_cast<unsigned char>(ch));
        }
    }
    out[1] = static_cast<unsigned char>(out.size() - 2);
    return out;
}

inline ossl::PKey ec_key() { return ossl::PKey(EVP_EC_gen("P-256")); }

// A second owner of the same key (keys are slow to make; tests share them).
inline ossl::PKey share(EVP_PKEY* key) {
    EVP_PKEY_up_ref(key);
    return ossl::PKey(key);
}

inline void add_req_ext(STACK_OF(X509_EXTENSION)* exts, X509_REQ* req, int nid, const std::string& value) {
    if (value.empty()) return;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, nullptr, nullptr, req, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext != nullptr) sk_X509_EXTENSION_push(exts, ext);
}

inline Bytes csr_der(EVP_PKEY* key, const CsrSpec& spec) {
    ossl::X509Req req(X509_REQ_new());
    X509_REQ_set_version(req.get(), 0);
    for (const auto& [field, value] : spec.subject)
        X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key);
    ossl::ExtStack exts(sk_X509_EXTENSION_new_null());
    add_req_ext(exts.get(), req.get(), NID_subject_alt_name, spec.sans);
    add_req_ext(exts.get(), req.get(), NID_key_usage, spec.key_usage);
    add_req_ext(exts.get(), req.get(), NID_ext_key_usage, spec.extended_key_usage);
    add_req_ext(exts.get(), req.get(), NID_basic_constraints, spec.ask_for_ca ? "critical,CA:TRUE" : "");
    for (const auto& [nid, value] : spec.more_extensions) add_req_ext(exts.get(), req.get(), nid, value);
    if (sk_X509_EXTENSION_num(exts.get()) > 0) X509_REQ_add_extensions(req.get(), exts.get());
    if (!spec.name_value_pairs.empty()) {
        ossl::Asn1Object oid(OBJ_txt2obj("1.3.6.1.4.1.311.13.2.1", 1));
        std::unique_ptr<X509_ATTRIBUTE, decltype(&X509_ATTRIBUTE_free)> attr(
            X509_ATTRIBUTE_create_by_OBJ(nullptr, oid.get(), 0, nullptr, -1), &X509_ATTRIBUTE_free);
        for (const auto& [name, value] : spec.name_value_pairs) {
            Bytes der = name_value_pair_der(name, value);
            X509_ATTRIBUTE_set1_data(attr.get(), V_ASN1_SEQUENCE, der.data(), int(der.size()));
        }
        X509_REQ_add1_attr(req.get(), attr.get());
    }
    X509_REQ_sign(req.get(), key, EVP_sha256());
    unsigned char* p = nullptr;
    int len = i2d_X509_REQ(req.get(), &p);
    ossl::Buffer<unsigned char> owned(p);
    return Bytes(p, p + len);
}

// The CSR as the CA reads it (parsed and self-signature verified).
inline CsrInfo csr(EVP_PKEY* key, const CsrSpec& spec = {}) { return read_csr(csr_der(key, spec)); }

// A CA certificate as a real CA has one: CA:TRUE, keyCertSign, a key ID.
inline KeyPair make_ca(EVP_PKEY* key, const std::string& cn, long valid_seconds) {
    KeyPair ca{nullptr, share(key)};
    ca.cert.reset(X509_new());
    X509* x = ca.cert.get();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("Example"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), valid_seconds);
    X509_set_pubkey(x, key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE"},
                              {NID_key_usage, "critical,keyCertSign,cRLSign"},
                              {NID_subject_key_identifier, "hash"}}) {
        ossl::X509Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
        X509_add_ext(x, ext.get(), -1);
    }
    X509_sign(x, key, EVP_sha256());
    return ca;
}

// What config.cc makes of a template with only key_usage set.
inline Template make_template(const std::string& name) {
    Template t;
    t.name = name;
    t.key_usage = {"digitalSignature", "keyEncipherment"};
    t.subject.allowed = {"CN", "O", "OU", "C", "ST", "L", "emailAddress", "serialNumber", "DC", "UID"};
    return t;
}

// An extension as `openssl x509 -text` shows it ("" when absent).
inline std::string ext_text(X509* x, int nid) {
    int pos = X509_get_ext_by_NID(x, nid, -1);
    if (pos < 0) return "";
    ossl::Bio mem(BIO_new(BIO_s_mem()));
    X509V3_EXT_print(mem.get(), X509_get_ext(x, pos), 0, 0);
    char* data = nullptr;
    long len = BIO_get_mem_data(mem.get(), &data);
    return std::string(data, std::size_t(len));
}

inline bool ext_critical(X509* x, int nid) {
    int pos = X509_get_ext_by_NID(x, nid, -1);
    return pos >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, pos)) == 1;
}

// Seconds from now to an ASN1_TIME (negative: in the past).
inline long seconds_from_now(const ASN1_TIME* t) {
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, nullptr, t);
    return long(days) * 86400 + secs;
}

}  // namespace scepter::test
