// CertRep building (RFC 8894 §3.3.2): status, the request's transactionID
// and nonce echoed, failInfo and failInfoText, a signature by the RA, and
// for SUCCESS the certificates enveloped to the requester.
#include "ca/cert_rep.h"

#include "ca_fixture.h"

#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/err.h>

namespace scepter {
namespace {

class CertRep : public ::testing::Test {
   protected:
    // RSA keys are slow to make: one CA, one RA and one device for the suite.
    static void SetUpTestSuite() {
        ca_ = new CaMaterial;
        ca_->ca = test::make_ca(test::rsa_key().get(), "Rep CA", 86400);
        ca_->ra_signing.key = test::rsa_key();
        ca_->ra_signing.cert = test::self_signed(ca_->ra_signing.key.get(), "Rep RA", "digitalSignature");
        ca_->ca_is_ra = false;
        device_key_ = test::rsa_key();
        device_cert_ = test::self_signed(device_key_.get(), "device");
    }
    static void TearDownTestSuite() {
        delete ca_;
        device_cert_.reset();
        device_key_.reset();
    }

    void SetUp() override {
        request_.transaction_id = "7A3F-unit-tx";
        request_.message_type = int(MessageType::pkcs_req);
        request_.sender_nonce = make_nonce();
        profile_.response_digest = Digest::sha512;
    }

    // The reply's signature checked against the given certificate only
    // (not the one the reply carries).
    static bool verifies_with(const Bytes& der, X509* cert) {
        ossl::Bio in(BIO_new_mem_buf(der.data(), int(der.size())));
        ossl::Cms cms(d2i_CMS_bio(in.get(), nullptr));
        if (!cms) return false;
        ossl::X509Stack certs(sk_X509_new_null());
        X509_up_ref(cert);
        sk_X509_push(certs.get(), cert);
        int ok = CMS_verify(cms.get(), certs.get(), nullptr, nullptr, nullptr,
                            CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY);
        ERR_clear_error();
        return ok == 1;
    }

    void expect_echoes(const SignedMessage& m) const {
        EXPECT_EQ(m.attrs.message_type, int(MessageType::cert_rep));
        EXPECT_EQ(m.attrs.transaction_id, "7A3F-unit-tx");
        EXPECT_EQ(m.attrs.recipient_nonce, request_.sender_nonce);
        EXPECT_EQ(m.attrs.sender_nonce.size(), 16u);
        EXPECT_NE(m.attrs.sender_nonce, request_.sender_nonce);
        EXPECT_EQ(m.digest, Digest::sha512);
        EXPECT_EQ(X509_cmp(m.signer.get(), ca_->ra_signing.cert.get()), 0);
    }

    static inline CaMaterial* ca_ = nullptr;
    static inline ossl::PKey device_key_;
    static inline ossl::X509Ptr device_cert_;
    ScepAttributes request_;
    Profile profile_;
};

TEST_F(CertRep, FailureCarriesFailInfoAndText) {
    Bytes der = cert_rep_failure(*ca_, profile_, request_, FailInfo::bad_request, "template 'x' forbids OU");
    SignedMessage m = read_signed_message(der);
    expect_echoes(m);
    ASSERT_TRUE(m.attrs.status.has_value());
    EXPECT_EQ(*m.attrs.status, PkiStatus::failure);
    ASSERT_TRUE(m.attrs.fail_info.has_value());
    EXPECT_EQ(*m.attrs.fail_info, FailInfo::bad_request);
    EXPECT_EQ(m.attrs.fail_info_text, "template 'x' forbids OU");
    EXPECT_TRUE(m.content.empty());
}

TEST_F(CertRep, EveryFailInfoSurvivesTheRoundTrip) {
    for (FailInfo f : {FailInfo::bad_alg, FailInfo::bad_message_check, FailInfo::bad_request, FailInfo::bad_time,
                       FailInfo::bad_cert_id}) {
        SignedMessage m = read_signed_message(cert_rep_failure(*ca_, profile_, request_, f, to_string(f)));
        ASSERT_TRUE(m.attrs.fail_info.has_value());
        EXPECT_EQ(*m.attrs.fail_info, f);
        EXPECT_EQ(m.attrs.fail_info_text, to_string(f));
    }
}

TEST_F(CertRep, PendingHasNoFailInfoAndNoContent) {
    SignedMessage m = read_signed_message(cert_rep_pending(*ca_, profile_, request_));
    expect_echoes(m);
    ASSERT_TRUE(m.attrs.status.has_value());
    EXPECT_EQ(*m.attrs.status, PkiStatus::pending);
    EXPECT_FALSE(m.attrs.fail_info.has_value());
    EXPECT_EQ(m.attrs.fail_info_text, "");
    EXPECT_TRUE(m.content.empty());
}

TEST_F(CertRep, SuccessEnvelopesTheCertificatesToTheRequester) {
    Bytes certs_only = write_certs_only({ca_->ca.cert.get()});
    Bytes der = cert_rep_success(*ca_, profile_, request_, device_cert_.get(), certs_only, ContentCipher::aes256,
                                 nullptr);
    SignedMessage m = read_signed_message(der);
    expect_echoes(m);
    ASSERT_TRUE(m.attrs.status.has_value());
    EXPECT_EQ(*m.attrs.status, PkiStatus::success);
    EXPECT_FALSE(m.attrs.fail_info.has_value());
    EnvelopeAlgorithms algs = inspect_envelope(m.content);
    ASSERT_TRUE(algs.cipher.has_value());
    EXPECT_EQ(*algs.cipher, ContentCipher::aes256);
    Bytes opened = open_envelope(m.content, {{device_cert_.get(), device_key_.get()}}, nullptr);
    EXPECT_EQ(opened, certs_only);
    auto certs = read_certs_only(opened);
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(X509_cmp(certs[0].get(), ca_->ca.cert.get()), 0);
}

TEST_F(CertRep, SuccessCannotBeOpenedByTheRa) {
    Bytes der = cert_rep_success(*ca_, profile_, request_, device_cert_.get(), write_certs_only({ca_->ca.cert.get()}),
                                 ContentCipher::aes128, nullptr);
    SignedMessage m = read_signed_message(der);
    EXPECT_THROW(open_envelope(m.content, {{ca_->ra_signing.cert.get(), ca_->ra_signing.key.get()}}, nullptr),
                 ScepFailure);
}

TEST_F(CertRep, SignatureVerifiesAgainstTheRaCertificateNotTheCas) {
    for (const Bytes& der : {cert_rep_failure(*ca_, profile_, request_, FailInfo::bad_time, "clock"),
                             cert_rep_pending(*ca_, profile_, request_)}) {
        EXPECT_TRUE(verifies_with(der, ca_->ra_signing.cert.get()));
        EXPECT_FALSE(verifies_with(der, ca_->ca.cert.get()));
    }
}

TEST_F(CertRep, ResponseDigestFollowsTheProfile) {
    profile_.response_digest = Digest::sha256;
    EXPECT_EQ(read_signed_message(cert_rep_pending(*ca_, profile_, request_)).digest, Digest::sha256);
}

TEST_F(CertRep, EmptyRequestNonceIsEchoedEmpty) {
    // A FAILURE for a message whose attributes could not be read.
    ScepAttributes unread;
    SignedMessage m = read_signed_message(cert_rep_failure(*ca_, profile_, unread, FailInfo::bad_message_check, "x"));
    EXPECT_EQ(m.attrs.transaction_id, "");
    EXPECT_TRUE(m.attrs.recipient_nonce.empty());
    EXPECT_EQ(m.attrs.sender_nonce.size(), 16u);
}

}  // namespace
}  // namespace scepter
