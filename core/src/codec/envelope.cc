// The enveloped layer of a pkiMessage (RFC 8894 §3.2.2) and the degenerate
// certs-only SignedData used by GetCACert and the CertRep payload.
#include "scepter/der.h"
#include "scepter/pki_message.h"

#include "scepter/openssl_error.h"

#include <openssl/cms.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>

namespace scepter {
namespace {

const char* cipher_name(ContentCipher c) {
    switch (c) {
        case ContentCipher::des: return "DES-CBC";
        case ContentCipher::des3: return "DES-EDE3-CBC";
        case ContentCipher::aes128: return "AES-128-CBC";
        case ContentCipher::aes192: return "AES-192-CBC";
        case ContentCipher::aes256: return "AES-256-CBC";
    }
    return "AES-256-CBC";
}

std::optional<ContentCipher> cipher_of(int nid) {
    switch (nid) {
        case NID_des_cbc: return ContentCipher::des;
        case NID_des_ede3_cbc: return ContentCipher::des3;
        case NID_aes_128_cbc: return ContentCipher::aes128;
        case NID_aes_192_cbc: return ContentCipher::aes192;
        case NID_aes_256_cbc: return ContentCipher::aes256;
        default: return std::nullopt;
    }
}

ossl::Pkcs7 read_pkcs7(const Bytes& der, int expected_type, const char* what) {
    clear_openssl_errors();
    const unsigned char* p = der.data();
    ossl::Pkcs7 p7(d2i_PKCS7(nullptr, &p, long(der.size())));
    if (!p7 || OBJ_obj2nid(p7->type) != expected_type) {
        clear_openssl_errors();
        throw ScepFailure(FailInfo::bad_request, std::string("the content is not ") + what);
    }
    return p7;
}

Bytes bio_bytes(BIO* b) {
    char* data = nullptr;
    long len = BIO_get_mem_data(b, &data);
    return Bytes(data, data + len);
}

}  // namespace

EnvelopeAlgorithms inspect_envelope(const Bytes& der) {
    ossl::Pkcs7 p7 = read_pkcs7(der, NID_pkcs7_enveloped, "a CMS EnvelopedData");
    EnvelopeAlgorithms out;
    const X509_ALGOR* alg = p7->d.enveloped->enc_data->algorithm;
    int nid = OBJ_obj2nid(alg->algorithm);
    out.cipher = cipher_of(nid);
    char name[80];
    OBJ_obj2txt(name, sizeof name, alg->algorithm, 0);
    out.cipher_name = name;
    STACK_OF(PKCS7_RECIP_INFO)* ris = p7->d.enveloped->recipientinfo;
    for (int i = 0; i < sk_PKCS7_RECIP_INFO_num(ris); ++i)
        out.oaep |= OBJ_obj2nid(sk_PKCS7_RECIP_INFO_value(ris, i)->key_enc_algor->algorithm) == NID_rsaesOaep;
    return out;
}

Bytes open_envelope(const Bytes& der, const std::vector<std::pair<X509*, EVP_PKEY*>>& recipients,
                    OSSL_LIB_CTX* libctx) {
    for (const auto& [cert, key] : recipients) {
        clear_openssl_errors();
        // Parsing into a context-bound object makes CMS fetch the cipher from
        // libctx, which may hold the legacy provider (single DES).
        CMS_ContentInfo* raw = CMS_ContentInfo_new_ex(libctx, nullptr);
        check(raw != nullptr, "CMS_ContentInfo_new_ex");
        ossl::Bio in(BIO_new_mem_buf(der.data(), int(der.size())));
        if (d2i_CMS_bio(in.get(), &raw) == nullptr) {
            clear_openssl_errors();
            throw ScepFailure(FailInfo::bad_request, "the envelope does not parse");
        }
        ossl::Cms cms(raw);
        ossl::Bio out(BIO_new(BIO_s_mem()));
        check(out != nullptr, "BIO_new");
        if (CMS_decrypt(cms.get(), key, cert, nullptr, out.get(), CMS_BINARY) == 1) return bio_bytes(out.get());
    }
    std::string why = drain_openssl_errors();
    throw ScepFailure(FailInfo::bad_message_check,
                      "the envelope cannot be decrypted with our RA key" + (why.empty() ? "" : " (" + why + ")"));
}

Bytes seal_envelope(const Bytes& content, const std::vector<X509*>& recipients, ContentCipher cipher,
                    bool oaep, OSSL_LIB_CTX* libctx) {
    clear_openssl_errors();
    ossl::Cipher evp(EVP_CIPHER_fetch(libctx, cipher_name(cipher), nullptr));
    check(evp != nullptr, "EVP_CIPHER_fetch");
    const int flags = CMS_BINARY | CMS_PARTIAL;
    ossl::Cms cms(CMS_encrypt_ex(nullptr, nullptr, evp.get(), flags, libctx, nullptr));
    check(cms != nullptr, "CMS_encrypt_ex");
    for (X509* cert : recipients) {
        CMS_RecipientInfo* ri = CMS_add1_recipient_cert(cms.get(), cert, oaep ? CMS_KEY_PARAM : 0);
        check(ri != nullptr, "CMS_add1_recipient_cert");
        if (oaep) {
            EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
            check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0, "set OAEP padding");
        }
    }
    ossl::Bio in(BIO_new_mem_buf(content.data(), int(content.size())));
    check(CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) == 1, "CMS_final");
    return to_der(cms.get(), i2d_CMS_ContentInfo);
}

Bytes write_certs_only(const std::vector<X509*>& certs) {
    clear_openssl_errors();
    ossl::Pkcs7 p7(PKCS7_new());
    check(p7 && PKCS7_set_type(p7.get(), NID_pkcs7_signed) == 1, "PKCS7_set_type");
    // A degenerate SignedData: no signers, and the inner content type "data"
    // with the content itself absent.
    p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
    for (X509* c : certs) check(PKCS7_add_certificate(p7.get(), c) == 1, "PKCS7_add_certificate");
    return to_der(p7.get(), i2d_PKCS7);
}

Bytes write_crl_only(X509_CRL* crl) {
    clear_openssl_errors();
    ossl::Pkcs7 p7(PKCS7_new());
    check(p7 && PKCS7_set_type(p7.get(), NID_pkcs7_signed) == 1, "PKCS7_set_type");
    p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
    check(PKCS7_add_crl(p7.get(), crl) == 1, "PKCS7_add_crl");
    return to_der(p7.get(), i2d_PKCS7);
}

std::vector<ossl::X509Ptr> read_certs_only(const Bytes& der) {
    ossl::Pkcs7 p7 = read_pkcs7(der, NID_pkcs7_signed, "a certs-only SignedData");
    std::vector<ossl::X509Ptr> out;
    STACK_OF(X509)* certs = p7->d.sign->cert;
    for (int i = 0; i < sk_X509_num(certs); ++i) out.push_back(ossl::up_ref(sk_X509_value(certs, i)));
    return out;
}

}  // namespace scepter
