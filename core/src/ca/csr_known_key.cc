// The CertificationRequest of RFC 2986 with OpenSSL's own X509_REQ template
// mirrored field for field (crypto/x509/x_req.c), except that the
// SubjectPublicKeyInfo is read as its two plain fields: OpenSSL's X509_PUBKEY
// type would run the key decoder while parsing. Same structure, so a CSR
// parses here exactly when d2i_X509_REQ parses it.
#include "ca/csr_known_key.h"

#include "ca/public_key_copy.h"
#include "scepter/openssl_error.h"

#include <openssl/asn1t.h>

#include <cstring>

namespace scepter {
namespace {

struct PlainSpki {
    ASN1_ENCODING enc;  // the bytes as received, compared with the signer's
    X509_ALGOR* algorithm;
    ASN1_BIT_STRING* public_key;
};

struct PlainReqInfo {
    ASN1_ENCODING enc;  // the bytes as received: the signature covers them
    ASN1_INTEGER* version;
    X509_NAME* subject;
    PlainSpki* spki;
    STACK_OF(X509_ATTRIBUTE) * attributes;
};

struct PlainReq {
    PlainReqInfo* info;
    X509_ALGOR* sig_alg;
    ASN1_BIT_STRING* signature;
};

DECLARE_ASN1_ITEM(PlainReq)
DECLARE_ASN1_ITEM(PlainReqInfo)
DECLARE_ASN1_ITEM(PlainSpki)

ASN1_SEQUENCE_enc(PlainSpki, enc, 0) = {
    ASN1_SIMPLE(PlainSpki, algorithm, X509_ALGOR),
    ASN1_SIMPLE(PlainSpki, public_key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END_enc(PlainSpki, PlainSpki)

// As OpenSSL's X509_REQ_INFO: the attributes OPTIONAL although RFC 2986 says
// otherwise, to read the CSRs that omit the empty [0].
ASN1_SEQUENCE_enc(PlainReqInfo, enc, 0) = {
    ASN1_SIMPLE(PlainReqInfo, version, ASN1_INTEGER),
    ASN1_SIMPLE(PlainReqInfo, subject, X509_NAME),
    ASN1_SIMPLE(PlainReqInfo, spki, PlainSpki),
    ASN1_IMP_SET_OF_OPT(PlainReqInfo, attributes, X509_ATTRIBUTE, 0),
} ASN1_SEQUENCE_END_enc(PlainReqInfo, PlainReqInfo)

ASN1_SEQUENCE(PlainReq) = {
    ASN1_SIMPLE(PlainReq, info, PlainReqInfo),
    ASN1_SIMPLE(PlainReq, sig_alg, X509_ALGOR),
    ASN1_SIMPLE(PlainReq, signature, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(PlainReq)

void free_plain_req(PlainReq* req) noexcept {
    ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(req), ASN1_ITEM_rptr(PlainReq));
}

// Our own ASN.1 type, so its owner lives here rather than in scepter/ossl.h.
using PlainReqPtr = ossl::Owned<PlainReq, free_plain_req>;

PlainReqPtr parse(const Bytes& der) {
    const unsigned char* p = der.data();
    PlainReqPtr req(static_cast<PlainReq*>(
        static_cast<void*>(ASN1_item_d2i(nullptr, &p, long(der.size()), ASN1_ITEM_rptr(PlainReq)))));
    if (p != der.data() + der.size()) req.reset();
    return req;
}

// Whether the CSR's SubjectPublicKeyInfo, as received, is the DER encoding of
// the signer certificate's.
bool same_key(const PlainSpki& spki, X509* signer) {
    unsigned char* der = nullptr;
    int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(signer), &der);
    ossl::Buffer<unsigned char> owned(der);
    return len > 0 && spki.enc.enc != nullptr && spki.enc.len == long(len) &&
           std::memcmp(spki.enc.enc, der, std::size_t(len)) == 0;
}

ossl::X509Req rebuild(const PlainReq& plain) {
    ossl::X509Req req(X509_REQ_new());
    check(req && X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) == 1 &&
              X509_REQ_set_subject_name(req.get(), plain.info->subject) == 1,
          "X509_REQ_new");
    for (int i = 0; i < sk_X509_ATTRIBUTE_num(plain.info->attributes); ++i)
        check(X509_REQ_add1_attr(req.get(), sk_X509_ATTRIBUTE_value(plain.info->attributes, i)) == 1,
              "X509_REQ_add1_attr");
    const ASN1_BIT_STRING* key = plain.info->spki->public_key;
    set_public_key(X509_REQ_get_X509_PUBKEY(req.get()), plain.info->spki->algorithm, ASN1_STRING_get0_data(key),
                   ASN1_STRING_length(key));
    ossl::Asn1BitString signature(ASN1_STRING_dup(plain.signature));
    check(signature && X509_REQ_set1_signature_algo(req.get(), plain.sig_alg) == 1, "CSR signature");
    X509_REQ_set0_signature(req.get(), signature.release());
    return req;
}

}  // namespace

std::optional<KnownKeyCsr> read_csr_with_known_key(const Bytes& der, X509* signer) {
    EVP_PKEY* key = signer ? X509_get0_pubkey(signer) : nullptr;
    if (key == nullptr) return std::nullopt;
    PlainReqPtr plain = parse(der);
    if (!plain || ASN1_INTEGER_get(plain->info->version) != X509_REQ_VERSION_1 ||
        !same_key(*plain->info->spki, signer)) {
        clear_openssl_errors();
        return std::nullopt;
    }
    // What X509_REQ_verify does, over the request info's bytes as received.
    bool verifies = ASN1_item_verify_ex(ASN1_ITEM_rptr(PlainReqInfo), plain->sig_alg, plain->signature,
                                        plain->info, nullptr, key, nullptr, nullptr) == 1;
    clear_openssl_errors();
    return KnownKeyCsr{rebuild(*plain), ossl::up_ref(key), verifies};
}

}  // namespace scepter
