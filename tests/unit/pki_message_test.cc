// The pkiMessage codec: signed layer, envelope, certs-only.
#include "scepter/pki_message.h"

#include "test_keys.h"

#include <gtest/gtest.h>

namespace scepter {
namespace {

struct Party {
    ossl::PKey key = test::rsa_key();
    ossl::X509Ptr cert = test::self_signed(key.get(), "party");
};

ScepAttributes request_attrs() {
    ScepAttributes a;
    a.transaction_id = "tx-1";
    a.message_type = int(MessageType::pkcs_req);
    a.sender_nonce = make_nonce();
    return a;
}

TEST(PkiMessage, SignedRoundTripKeepsAttributesAndContent) {
    Party p;
    Bytes content{1, 2, 3, 4};
    Bytes der = write_signed_message(content, request_attrs(), p.cert.get(), p.key.get(), Digest::sha512);
    SignedMessage m = read_signed_message(der);
    EXPECT_EQ(m.attrs.transaction_id, "tx-1");
    EXPECT_EQ(m.attrs.message_type, 19);
    EXPECT_EQ(m.attrs.sender_nonce.size(), 16u);
    EXPECT_EQ(m.digest, Digest::sha512);
    EXPECT_EQ(m.content, content);
    EXPECT_EQ(X509_cmp(m.signer.get(), p.cert.get()), 0);
}

TEST(PkiMessage, FailureAttributesAndOmittedContent) {
    Party p;
    ScepAttributes a = request_attrs();
    a.message_type = int(MessageType::cert_rep);
    a.status = PkiStatus::failure;
    a.fail_info = FailInfo::bad_time;
    a.fail_info_text = "clock: too far off";
    a.recipient_nonce = make_nonce();
    SignedMessage m = read_signed_message(write_signed_message({}, a, p.cert.get(), p.key.get(), Digest::sha256));
    EXPECT_EQ(m.attrs.status, PkiStatus::failure);
    EXPECT_EQ(m.attrs.fail_info, FailInfo::bad_time);
    EXPECT_EQ(m.attrs.fail_info_text, "clock: too far off");
    EXPECT_EQ(m.attrs.recipient_nonce, a.recipient_nonce);
    EXPECT_TRUE(m.content.empty());
}

TEST(PkiMessage, TamperedSignatureIsBadMessageCheck) {
    Party p;
    Bytes der = write_signed_message({9, 9, 9}, request_attrs(), p.cert.get(), p.key.get(), Digest::sha256);
    der[der.size() - 10] ^= 0x55;  // inside the signature value, the last field
    try {
        read_signed_message(der);
        FAIL() << "a tampered message verified";
    } catch (const ScepFailure& f) {
        EXPECT_EQ(f.info(), FailInfo::bad_message_check);
    }
    EXPECT_EQ(read_unverified_attributes(der).transaction_id, "tx-1");
}

TEST(PkiMessage, GarbageIsNotSignedData) {
    EXPECT_THROW(read_signed_message(Bytes{0x30, 0x03, 0x02, 0x01, 0x01}), std::invalid_argument);
    EXPECT_THROW(read_signed_message(Bytes{}), std::invalid_argument);
    EXPECT_TRUE(read_unverified_attributes(Bytes{1, 2, 3}).transaction_id.empty());
}

class EnvelopeCiphers : public ::testing::TestWithParam<std::tuple<ContentCipher, bool>> {};

TEST_P(EnvelopeCiphers, SealThenOpen) {
    auto [cipher, oaep] = GetParam();
    Party ra;
    ossl::LibCtx legacy(OSSL_LIB_CTX_new());
    ossl::Provider lp(OSSL_PROVIDER_load(legacy.get(), "legacy"));
    ossl::Provider dp(OSSL_PROVIDER_load(legacy.get(), "default"));
    OSSL_LIB_CTX* ctx = cipher == ContentCipher::des ? legacy.get() : nullptr;
    Bytes secret{'c', 's', 'r'};
    Bytes env = seal_envelope(secret, {ra.cert.get()}, cipher, oaep, ctx);
    EnvelopeAlgorithms algs = inspect_envelope(env);
    ASSERT_TRUE(algs.cipher.has_value());
    EXPECT_EQ(*algs.cipher, cipher);
    EXPECT_EQ(algs.oaep, oaep);
    EXPECT_EQ(open_envelope(env, {{ra.cert.get(), ra.key.get()}}, ctx), secret);
}

INSTANTIATE_TEST_SUITE_P(AllCiphers, EnvelopeCiphers,
                         ::testing::Combine(::testing::Values(ContentCipher::des, ContentCipher::des3,
                                                              ContentCipher::aes128, ContentCipher::aes192,
                                                              ContentCipher::aes256),
                                            ::testing::Bool()));

TEST(Envelope, SingleDesNeedsTheLegacyContext) {
    Party ra;
    ossl::LibCtx legacy(OSSL_LIB_CTX_new());
    ossl::Provider lp(OSSL_PROVIDER_load(legacy.get(), "legacy"));
    ossl::Provider dp(OSSL_PROVIDER_load(legacy.get(), "default"));
    Bytes env = seal_envelope({1}, {ra.cert.get()}, ContentCipher::des, false, legacy.get());
    // The default context (the web server's) has no single DES.
    EXPECT_THROW(open_envelope(env, {{ra.cert.get(), ra.key.get()}}, nullptr), ScepFailure);
}

TEST(Envelope, WrongRecipientKeyIsBadMessageCheck) {
    Party ra, other;
    Bytes env = seal_envelope({1, 2}, {ra.cert.get()}, ContentCipher::aes128, false, nullptr);
    try {
        open_envelope(env, {{other.cert.get(), other.key.get()}}, nullptr);
        FAIL();
    } catch (const ScepFailure& f) {
        EXPECT_EQ(f.info(), FailInfo::bad_message_check);
    }
}

TEST(CertsOnly, RoundTripKeepsOrder) {
    Party a, b;
    auto certs = read_certs_only(write_certs_only({a.cert.get(), b.cert.get()}));
    ASSERT_EQ(certs.size(), 2u);
    EXPECT_EQ(X509_cmp(certs[0].get(), a.cert.get()), 0);
    EXPECT_EQ(X509_cmp(certs[1].get(), b.cert.get()), 0);
}

TEST(Nonce, SixteenFreshBytes) {
    Bytes a = make_nonce(), b = make_nonce();
    EXPECT_EQ(a.size(), 16u);
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace scepter
