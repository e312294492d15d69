// The CSR's signature algorithm: PKCS#1 v1.5 and RSASSA-PSS read their digest
// (PSS from its parameters); anything else is refused by name.
#include "ca/csr.h"
#include "scepter/der.h"
#include "scepter/pki_message.h"
#include "test_keys.h"

#include <gtest/gtest.h>
#include <openssl/rsa.h>

#include <string>

namespace scepter {
namespace {

ossl::X509Req unsigned_request(EVP_PKEY* key) {
    ossl::X509Req req(X509_REQ_new());
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("csr-sig"), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key);
    return req;
}

Bytes der_of(const X509_REQ* req) { return to_der(req, i2d_X509_REQ); }

Bytes pss_signed(EVP_PKEY* key, const EVP_MD* md) {
    ossl::X509Req req = unsigned_request(key);
    ossl::MdCtx ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    EXPECT_EQ(EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    EXPECT_GT(X509_REQ_sign_ctx(req.get(), ctx.get()), 0);
    return der_of(req.get());
}

std::string refusal_of(const Bytes& der) {
    try {
        read_csr(der);
    } catch (const ScepFailure& f) {
        return f.what();
    }
    return "accepted";
}

TEST(CsrSignature, PssTakesItsDigestFromTheParameters) {
    ossl::PKey key = test::rsa_key();
    EXPECT_EQ(read_csr(pss_signed(key.get(), EVP_sha256())).signature_digest, Digest::sha256);
    EXPECT_EQ(read_csr(pss_signed(key.get(), EVP_sha384())).signature_digest, Digest::sha384);
}

TEST(CsrSignature, Pkcs1TakesItsDigestFromTheOid) {
    ossl::PKey key = test::rsa_key();
    ossl::X509Req req = unsigned_request(key.get());
    X509_REQ_sign(req.get(), key.get(), EVP_sha512());
    EXPECT_EQ(read_csr(der_of(req.get())).signature_digest, Digest::sha512);
}

TEST(CsrSignature, AnUnsupportedAlgorithmIsNamed) {
    ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    ossl::X509Req req = unsigned_request(key.get());
    X509_REQ_sign(req.get(), key.get(), nullptr);
    EXPECT_EQ(refusal_of(der_of(req.get())), "the CSR is signed with an unsupported algorithm (ED25519)");
}

}  // namespace
}  // namespace scepter
