// The signed layer of a pkiMessage: CMS SignedData whose signer info carries
// the SCEP authenticated attributes (RFC 8894 §3.2.1).
#include "scepter/pki_message.h"
#include "scepter/der.h"

#include "scepter/openssl_error.h"

#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/rand.h>

namespace scepter {
namespace {

// RFC 8894 §3.2.1 attribute OIDs (Verisign arc) and failInfoText (RFC 8894 §3.2.1.4.5).
constexpr const char* kOidMessageType = "2.16.840.1.113733.1.9.2";
constexpr const char* kOidPkiStatus = "2.16.840.1.113733.1.9.3";
constexpr const char* kOidFailInfo = "2.16.840.1.113733.1.9.4";
constexpr const char* kOidSenderNonce = "2.16.840.1.113733.1.9.5";
constexpr const char* kOidRecipientNonce = "2.16.840.1.113733.1.9.6";
constexpr const char* kOidTransactionId = "2.16.840.1.113733.1.9.7";
constexpr const char* kOidFailInfoText = "1.3.6.1.5.5.7.24.1";

ossl::Asn1Object oid(const char* dotted) { return ossl::Asn1Object(OBJ_txt2obj(dotted, 1)); }

const ASN1_STRING* attribute(CMS_SignerInfo* si, const char* dotted, int type) {
    ossl::Asn1Object obj = oid(dotted);
    // -3: the attribute must occur once with exactly one value.
    return static_cast<const ASN1_STRING*>(CMS_signed_get0_data_by_OBJ(si, obj.get(), -3, type));
}

std::string text_of(const ASN1_STRING* s) {
    if (s == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
}

Bytes bytes_of(const ASN1_STRING* s) {
    if (s == nullptr) return {};
    const unsigned char* d = ASN1_STRING_get0_data(s);
    return Bytes(d, d + ASN1_STRING_length(s));
}

bool parse_small_int(const std::string& s, int& out) {
    if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoi(s);
    return true;
}

ScepAttributes read_attributes(CMS_SignerInfo* si) {
    ScepAttributes a;
    a.transaction_id = text_of(attribute(si, kOidTransactionId, V_ASN1_PRINTABLESTRING));
    std::string type = text_of(attribute(si, kOidMessageType, V_ASN1_PRINTABLESTRING));
    if (!parse_small_int(type, a.message_type)) a.message_type = -1;
    int v = 0;
    if (parse_small_int(text_of(attribute(si, kOidPkiStatus, V_ASN1_PRINTABLESTRING)), v))
        a.status = static_cast<PkiStatus>(v);
    if (parse_small_int(text_of(attribute(si, kOidFailInfo, V_ASN1_PRINTABLESTRING)), v))
        a.fail_info = static_cast<FailInfo>(v);
    a.fail_info_text = text_of(attribute(si, kOidFailInfoText, V_ASN1_UTF8STRING));
    a.sender_nonce = bytes_of(attribute(si, kOidSenderNonce, V_ASN1_OCTET_STRING));
    a.recipient_nonce = bytes_of(attribute(si, kOidRecipientNonce, V_ASN1_OCTET_STRING));
    return a;
}

Digest digest_of(CMS_SignerInfo* si) {
    X509_ALGOR* alg = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &alg, nullptr);
    const ASN1_OBJECT* obj = nullptr;
    if (alg != nullptr) X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
    switch (obj ? OBJ_obj2nid(obj) : NID_undef) {
        case NID_md5: return Digest::md5;
        case NID_sha1: return Digest::sha1;
        case NID_sha256: return Digest::sha256;
        case NID_sha384: return Digest::sha384;
        case NID_sha512: return Digest::sha512;
        default: throw ScepFailure(FailInfo::bad_alg, "the message is signed with an unsupported digest");
    }
}

X509* find_signer(CMS_ContentInfo* cms, CMS_SignerInfo* si, STACK_OF(X509) * certs) {
    for (int i = 0; i < sk_X509_num(certs); ++i)
        if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0) return sk_X509_value(certs, i);
    return nullptr;
}

Bytes verify_and_extract(CMS_ContentInfo* cms, X509* signer) {
    ossl::X509Stack signers(sk_X509_new_null());
    check(signers && sk_X509_push(signers.get(), ossl::up_ref(signer).release()) > 0, "sk_X509_push");
    ossl::Bio out(BIO_new(BIO_s_mem()));
    check(out != nullptr, "BIO_new");
    // The signer certificate is usually self-signed: its chain is not ours to
    // check here (the challenge or, for renewals, the issuing CA authenticates).
    int flags = CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY;
    // An omitted content (FAILURE, PENDING) was signed as empty. A read-only
    // memory BIO reports end of data; a fresh writable one would say "retry".
    static const unsigned char nothing = 0;
    ossl::Bio empty(CMS_is_detached(cms) ? BIO_new_mem_buf(&nothing, 0) : nullptr);
    if (CMS_verify(cms, signers.get(), nullptr, empty.get(), out.get(), flags) != 1) {
        clear_openssl_errors();
        throw ScepFailure(FailInfo::bad_message_check, "the message signature does not verify");
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(out.get(), &data);
    return Bytes(data, data + len);
}

void add_text(CMS_SignerInfo* si, const char* dotted, int type, const std::string& value) {
    ossl::Asn1Object obj = oid(dotted);
    check(CMS_signed_add1_attr_by_OBJ(si, obj.get(), type, value.data(), int(value.size())) == 1,
          "CMS_signed_add1_attr_by_OBJ");
}

void add_octets(CMS_SignerInfo* si, const char* dotted, const Bytes& value) {
    ossl::Asn1Object obj = oid(dotted);
    check(CMS_signed_add1_attr_by_OBJ(si, obj.get(), V_ASN1_OCTET_STRING, value.data(),
                                      int(value.size())) == 1,
          "CMS_signed_add1_attr_by_OBJ");
}

void add_attributes(CMS_SignerInfo* si, const ScepAttributes& a) {
    add_text(si, kOidTransactionId, V_ASN1_PRINTABLESTRING, a.transaction_id);
    add_text(si, kOidMessageType, V_ASN1_PRINTABLESTRING, std::to_string(a.message_type));
    if (a.status) add_text(si, kOidPkiStatus, V_ASN1_PRINTABLESTRING, std::to_string(int(*a.status)));
    if (a.fail_info) add_text(si, kOidFailInfo, V_ASN1_PRINTABLESTRING, std::to_string(int(*a.fail_info)));
    if (!a.fail_info_text.empty()) add_text(si, kOidFailInfoText, V_ASN1_UTF8STRING, a.fail_info_text);
    if (!a.sender_nonce.empty()) add_octets(si, kOidSenderNonce, a.sender_nonce);
    if (!a.recipient_nonce.empty()) add_octets(si, kOidRecipientNonce, a.recipient_nonce);
}

const EVP_MD* md_of(Digest d) {
    switch (d) {
        case Digest::md5: return EVP_md5();
        case Digest::sha1: return EVP_sha1();
        case Digest::sha256: return EVP_sha256();
        case Digest::sha384: return EVP_sha384();
        case Digest::sha512: return EVP_sha512();
    }
    return EVP_sha256();
}

}  // namespace

SignedMessage read_signed_message(const Bytes& der) {
    clear_openssl_errors();
    const unsigned char* p = der.data();
    ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &p, long(der.size())));
    if (!cms || OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
        clear_openssl_errors();
        throw std::invalid_argument("the body is not a CMS SignedData");
    }
    STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
    // No signer (a certs-only bundle, say): nothing to answer to, not SCEP.
    if (sk_CMS_SignerInfo_num(infos) < 1) throw std::invalid_argument("the SignedData has no signer");
    if (sk_CMS_SignerInfo_num(infos) > 1)
        throw ScepFailure(FailInfo::bad_request, "the message must have exactly one signer");
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, 0);
    SignedMessage msg;
    msg.attrs = read_attributes(si);
    msg.digest = digest_of(si);
    ossl::X509Stack certs(CMS_get1_certs(cms.get()));
    X509* signer = find_signer(cms.get(), si, certs.get());
    if (signer == nullptr)
        throw ScepFailure(FailInfo::bad_request, "the message does not carry its signer's certificate");
    msg.content = verify_and_extract(cms.get(), signer);
    msg.signer = ossl::up_ref(signer);
    return msg;
}

ScepAttributes read_unverified_attributes(const Bytes& der) noexcept {
    try {
        const unsigned char* p = der.data();
        ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &p, long(der.size())));
        STACK_OF(CMS_SignerInfo)* infos = cms ? CMS_get0_SignerInfos(cms.get()) : nullptr;
        if (sk_CMS_SignerInfo_num(infos) < 1) return {};
        return read_attributes(sk_CMS_SignerInfo_value(infos, 0));
    } catch (...) {
        return {};
    }
}

namespace {

// Signs content; add_attrs (may be null) adds signed attributes first.
template <typename AddAttrs>
Bytes sign(const Bytes& content, X509* signer, EVP_PKEY* key, Digest digest, const std::vector<X509*>& certs,
           AddAttrs add_attrs) {
    clear_openssl_errors();
    // FAILURE and PENDING carry no messageData; it is signed as an empty
    // eContent rather than left out, since certmonger's reader (OpenSSL's
    // PKCS7 API) rejects a SignedData without content.
    int flags = CMS_PARTIAL | CMS_BINARY;
    ossl::Cms cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
    check(cms != nullptr, "CMS_sign");
    CMS_SignerInfo* si = CMS_add1_signer(cms.get(), signer, key, md_of(digest), flags | CMS_NOSMIMECAP);
    check(si != nullptr, "CMS_add1_signer");
    add_attrs(si);
    for (X509* c : certs)
        if (X509_cmp(c, signer) != 0) check(CMS_add1_cert(cms.get(), c) == 1, "CMS_add1_cert");
    static const unsigned char nothing = 0;  // BIO_new_mem_buf refuses a null pointer
    ossl::Bio in(BIO_new_mem_buf(content.empty() ? &nothing : content.data(), int(content.size())));
    check(in != nullptr, "BIO_new_mem_buf");
    check(CMS_final(cms.get(), in.get(), nullptr, flags & ~CMS_PARTIAL) == 1, "CMS_final");
    return to_der(cms.get(), i2d_CMS_ContentInfo);
}

}  // namespace

Bytes write_signed_message(const Bytes& content, const ScepAttributes& attrs, X509* signer,
                           EVP_PKEY* key, Digest digest, const std::vector<X509*>& certs) {
    return sign(content, signer, key, digest, certs, [&](CMS_SignerInfo* si) { add_attributes(si, attrs); });
}

Bytes write_signed_data(const Bytes& content, X509* signer, EVP_PKEY* key, Digest digest) {
    return sign(content, signer, key, digest, {}, [](CMS_SignerInfo*) {});
}

Bytes make_nonce() {
    Bytes n(16);
    check(RAND_bytes(n.data(), int(n.size())) == 1, "RAND_bytes");
    return n;
}

}  // namespace scepter
