// Builds and signs a certificate: every extension comes from the template.
#include "ca/issuer.h"

#include "ca/public_key_copy.h"
#include "ca/x509_text.h"
#include "scepter/cert_serial.h"
#include "scepter/der.h"
#include "scepter/openssl_error.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <map>

namespace scepter {
namespace {

// AD CS's "certificate template name" extension (szOID_ENROLL_CERTTYPE_EXTENSION):
// a BMPString naming the template, so admins and tools see which one applied.
constexpr const char* kOidTemplateName = "1.3.6.1.4.1.311.20.2";
constexpr const char* kOidSidExtension = "1.3.6.1.4.1.311.25.2";  // szOID_NTDS_CA_SECURITY_EXT
constexpr const char* kOidObjectSid = "1.3.6.1.4.1.311.25.2.1";     // szOID_NTDS_OBJECTSID
constexpr long kBackdateSeconds = 300;  // tolerate clients whose clocks run a little behind

// 128 bits from the CSPRNG: unique across workers and nodes without any
// coordination (the store's UNIQUE constraint catches the impossible rest).
// As a positive INTEGER it takes at most 17 octets, within RFC 5280's 20.
ossl::Bignum random_serial() {
    for (;;) {
        unsigned char buf[16];
        check(RAND_bytes(buf, sizeof buf) == 1, "RAND_bytes");
        ossl::Bignum bn(BN_bin2bn(buf, sizeof buf, nullptr));
        check(bn != nullptr, "BN_bin2bn");
        if (!BN_is_zero(bn.get())) return bn;  // a serial must be positive
    }
}

void set_serial(X509* x, IssuedCert& rec) {
    ossl::Bignum bn = random_serial();
    ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    check(serial && X509_set_serialNumber(x, serial.get()) == 1, "X509_set_serialNumber");
    rec.serial_hex = serial_hex(bn.get());
    check(!rec.serial_hex.empty(), "BN_bn2hex");
}

void set_subject(X509* x, const GrantedNames& names) {
    ossl::X509Name name(X509_NAME_new());
    check(name != nullptr, "X509_NAME_new");
    for (const auto& a : names.subject) {
        // The explicit length keeps every byte: a value is never cut short at
        // an embedded NUL into a name other than the one that was checked.
        auto value = reinterpret_cast<const unsigned char*>(a.value.data());
        int len = int(a.value.size());
        int ok = a.nid != NID_undef
                     ? X509_NAME_add_entry_by_NID(name.get(), a.nid, MBSTRING_UTF8, value, len, -1, 0)
                     : X509_NAME_add_entry_by_txt(name.get(), a.short_name.c_str(), MBSTRING_UTF8, value, len, -1, 0);
        if (ok != 1) throw ScepFailure(FailInfo::bad_request, "the subject attribute " + a.short_name + " is not valid");
    }
    check(X509_set_subject_name(x, name.get()) == 1, "X509_set_subject_name");
}

// The template's validity_days, or what the CSR asked for within its
// max_validity_days (template_rules.cc decided).
void set_validity(X509* x, const Template& t, const GrantedNames& names, X509* ca) {
    check(X509_gmtime_adj(X509_getm_notBefore(x), -kBackdateSeconds) != nullptr, "notBefore");
    if (names.validity_seconds)
        check(X509_time_adj_ex(X509_getm_notAfter(x), int(*names.validity_seconds / 86400),
                               long(*names.validity_seconds % 86400), nullptr) != nullptr, "notAfter");
    else
        check(X509_time_adj_ex(X509_getm_notAfter(x), t.validity_days, 0, nullptr) != nullptr, "notAfter");
    // Never outlive the issuer.
    if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) > 0)
        check(X509_set1_notAfter(x, X509_get0_notAfter(ca)) == 1, "notAfter");
}

// The CSR's SubjectPublicKeyInfo, copied field by field (ca/public_key_copy.h).
void copy_public_key(X509* x, X509_REQ* req) {
    const unsigned char* key = nullptr;
    int key_len = 0;
    X509_ALGOR* algor = nullptr;
    check(X509_PUBKEY_get0_param(nullptr, &key, &key_len, &algor, X509_REQ_get_X509_PUBKEY(req)) == 1,
          "X509_PUBKEY_get0_param");
    set_public_key(X509_get_X509_PUBKEY(x), algor, key, key_len);
}

void add_conf_ext(X509* x, X509V3_CTX* ctx, int nid, const std::string& value) {
    ossl::X509Ext ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
    check(ext && X509_add_ext(x, ext.get(), -1) == 1, OBJ_nid2sn(nid));
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}

// A SAN a policy wrote: one entry of its type, never parsed as a list, so a
// value cannot smuggle in another name.
GENERAL_NAME* general_name_from_text(const SanEntry& san) {
    static const std::map<std::string, int> types = {
        {"dns", GEN_DNS}, {"email", GEN_EMAIL}, {"uri", GEN_URI}, {"ip", GEN_IPADD}};
    auto type = types.find(san.type);
    if (type != types.end()) return a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type->second, san.value.c_str(), 0);
    // upn: otherName 1.3.6.1.4.1.311.20.2.3 with a UTF8String
    ossl::GeneralName gn(GENERAL_NAME_new());
    ossl::Asn1Type value(ASN1_TYPE_new());
    ossl::Asn1String utf8(ASN1_UTF8STRING_new());
    if (!gn || !value || !utf8 || ASN1_STRING_set(utf8.get(), san.value.data(), int(san.value.size())) != 1)
        return nullptr;
    ASN1_TYPE_set(value.get(), V_ASN1_UTF8STRING, utf8.release());
    if (GENERAL_NAME_set0_othername(gn.get(), OBJ_nid2obj(NID_ms_upn), value.get()) != 1) return nullptr;
    value.release();
    return gn.release();
}

// SANs are copied entry by entry from the CSR (never re-parsed from text, so
// a value cannot smuggle in another name).
void add_sans(X509* x, X509_REQ* req, const std::vector<SanEntry>& granted) {
    if (granted.empty()) return;
    ossl::GeneralNames requested = requested_sans(req);
    ossl::GeneralNames out(sk_GENERAL_NAME_new_null());
    check(out != nullptr, "subjectAltName");
    for (const auto& san : granted) {
        GENERAL_NAME* name = san.index >= 0 ? GENERAL_NAME_dup(sk_GENERAL_NAME_value(requested.get(), san.index))
                                            : general_name_from_text(san);
        check(name != nullptr && sk_GENERAL_NAME_push(out.get(), name) > 0, "subjectAltName entry");
    }
    check(X509_add1_ext_i2d(x, NID_subject_alt_name, out.get(), 0, X509V3_ADD_DEFAULT) == 1, "subjectAltName");
}

}  // namespace

// KB5014754's szOID_NTDS_CA_SECURITY_EXT: GeneralNames holding one otherName
// whose type-id is szOID_NTDS_OBJECTSID and whose value is [0] EXPLICIT
// OCTET STRING with the SID's text. Not critical.
Bytes sid_extension_der(const std::string& sid) {
    ossl::GeneralNames names(sk_GENERAL_NAME_new_null());
    ossl::GeneralName gn(GENERAL_NAME_new());
    ossl::Asn1Type value(ASN1_TYPE_new());
    ossl::Asn1OctetString text(ASN1_OCTET_STRING_new());
    check(names && gn && value && text && ASN1_OCTET_STRING_set(text.get(), reinterpret_cast<const unsigned char*>(sid.data()),
                                                                  int(sid.size())) == 1,
          "SID extension");
    ASN1_TYPE_set(value.get(), V_ASN1_OCTET_STRING, text.release());
    ossl::Asn1Object type_id(OBJ_txt2obj(kOidObjectSid, 1));
    check(type_id && GENERAL_NAME_set0_othername(gn.get(), type_id.get(), value.get()) == 1, "SID otherName");
    type_id.release();
    value.release();
    check(sk_GENERAL_NAME_push(names.get(), gn.get()) > 0, "SID GeneralNames");
    gn.release();
    unsigned char* der = nullptr;
    int len = i2d_GENERAL_NAMES(names.get(), &der);
    ossl::Buffer<unsigned char> owned(der);
    check(len > 0, "i2d SID extension");
    return Bytes(der, der + len);
}

namespace {

void add_sid(X509* x, const std::string& sid) {
    Bytes der = sid_extension_der(sid);
    ossl::Asn1OctetString value(ASN1_OCTET_STRING_new());
    check(value && ASN1_OCTET_STRING_set(value.get(), der.data(), int(der.size())) == 1, "SID extension value");
    ossl::Asn1Object oid(OBJ_txt2obj(kOidSidExtension, 1));
    ossl::X509Ext ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
    check(ext && X509_add_ext(x, ext.get(), -1) == 1, "SID extension");
}

void add_template_name(X509* x, const std::string& name) {
    ossl::Asn1String bmp(ASN1_STRING_type_new(V_ASN1_BMPSTRING));
    ASN1_STRING* raw = bmp.get();
    check(ASN1_mbstring_copy(&raw, reinterpret_cast<const unsigned char*>(name.data()), int(name.size()),
                             MBSTRING_UTF8, B_ASN1_BMPSTRING) > 0, "template name");
    ossl::Asn1Type wrapped(ASN1_TYPE_new());
    check(wrapped != nullptr, "ASN1_TYPE_new");
    ASN1_TYPE_set(wrapped.get(), V_ASN1_BMPSTRING, bmp.release());
    unsigned char* der = nullptr;
    int len = i2d_ASN1_TYPE(wrapped.get(), &der);
    ossl::Buffer<unsigned char> owned(der);
    check(len > 0, "i2d template name");
    ossl::Asn1OctetString value(ASN1_OCTET_STRING_new());
    check(value && ASN1_OCTET_STRING_set(value.get(), der, len) == 1, "template name value");
    ossl::Asn1Object oid(OBJ_txt2obj(kOidTemplateName, 1));
    ossl::X509Ext ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
    check(ext && X509_add_ext(x, ext.get(), -1) == 1, "template name extension");
}

// Where a relying party asks about the certificate (id-ad-ocsp) and finds
// its issuer (id-ad-caIssuers). The URLs were checked at load: plain http://,
// no list separators, so each is one entry.
void add_authority_info_access(X509* x, X509V3_CTX* ctx, const std::string& ocsp_url, const std::string& ca_issuers_url) {
    std::string value;
    if (!ocsp_url.empty()) value = "OCSP;URI:" + ocsp_url;
    if (!ca_issuers_url.empty()) value += (value.empty() ? "" : ",") + std::string("caIssuers;URI:") + ca_issuers_url;
    if (!value.empty()) add_conf_ext(x, ctx, NID_info_access, value);
}

void add_extensions(X509* x, const Template& t, X509_REQ* req, const GrantedNames& names, X509* ca,
                    const std::string& crl_url, const std::string& ocsp_url, const std::string& ca_issuers_url) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, x, nullptr, nullptr, 0);
    add_conf_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_conf_ext(x, &ctx, NID_key_usage, "critical," + join(t.key_usage));
    if (!t.extended_key_usage.empty()) add_conf_ext(x, &ctx, NID_ext_key_usage, join(t.extended_key_usage));
    add_conf_ext(x, &ctx, NID_subject_key_identifier, "hash");
    add_conf_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    add_sans(x, req, names.sans);
    if (!crl_url.empty()) add_conf_ext(x, &ctx, NID_crl_distribution_points, "URI:" + crl_url);
    add_authority_info_access(x, &ctx, ocsp_url, ca_issuers_url);
    if (t.template_name_extension) add_template_name(x, t.name);
    if (names.sid) add_sid(x, *names.sid);
}

std::string sans_text(const std::vector<SanEntry>& sans) {
    std::string out;
    for (const auto& s : sans) out += (out.empty() ? "" : ", ") + s.type + ":" + s.value;
    return out;
}

void fill_record(X509* x, const Template& t, const GrantedNames& names, IssuedCert& rec) {
    rec.subject = name_text(X509_get_subject_name(x));
    rec.sans = sans_text(names.sans);
    rec.sha1_hex = thumbprint(x, EVP_sha1());
    rec.sha256_hex = thumbprint(x, EVP_sha256());
    rec.not_before = unix_time(X509_get0_notBefore(x));
    rec.not_after = unix_time(X509_get0_notAfter(x));
    rec.template_name = t.name;
    rec.issued_at = std::time(nullptr);
    rec.der = to_der(x, i2d_X509);
}

}  // namespace

Issued issue_certificate(const Template& t, const CsrInfo& csr, const GrantedNames& names, const KeyPair& ca,
                         const std::string& crl_url, const std::string& ocsp_url, const std::string& ca_issuers_url) {
    clear_openssl_errors();
    Issued out;
    out.cert.reset(X509_new());
    X509* x = out.cert.get();
    check(x != nullptr && X509_set_version(x, X509_VERSION_3) == 1, "X509_new");
    set_serial(x, out.record);
    set_subject(x, names);
    check(X509_set_issuer_name(x, X509_get_subject_name(ca.cert.get())) == 1, "X509_set_issuer_name");
    set_validity(x, t, names, ca.cert.get());
    copy_public_key(x, csr.req.get());
    add_extensions(x, t, csr.req.get(), names, ca.cert.get(), crl_url, ocsp_url, ca_issuers_url);
    check(X509_sign(x, ca.key.get(), ca_signature_digest(ca.key.get())) > 0, "X509_sign");
    fill_record(x, t, names, out.record);
    return out;
}

}  // namespace scepter
