// The boundary checks on what a device's CSR holds (ca/csr_checks.h).
#include "ca/csr_checks.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <regex>
#include <string>
#include <thread>

namespace scepter {
namespace {

ossl::PKey ec_key(const char* curve) {
    return ossl::PKey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

ossl::PKey rsa_key(unsigned long exponent, int bits = 1024) {
    ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    ossl::Bignum e(BN_new());
    EVP_PKEY* key = nullptr;
    if (!ctx || !e || BN_set_word(e.get(), exponent) != 1 || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
        EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1)
        return nullptr;
    return ossl::PKey(key);
}

FailInfo refusal(EVP_PKEY* key) {
    try {
        check_public_key(key);
    } catch (const ScepFailure& f) {
        return f.info();
    }
    ADD_FAILURE() << "the key was accepted";
    return FailInfo::bad_request;
}

TEST(CsrChecks, NamesWithNulOrControlCharactersAreRefused) {
    EXPECT_NO_THROW(check_name_text("CN", "www.example.com", 256));
    EXPECT_NO_THROW(check_name_text("CN", "Zoë Ünïcode", 256));
    EXPECT_THROW(check_name_text("CN", std::string("good\0.evil", 10), 256), ScepFailure);
    EXPECT_THROW(check_name_text("CN", "line\nbreak", 256), ScepFailure);
    EXPECT_THROW(check_name_text("CN", "del\x7f", 256), ScepFailure);
}

TEST(CsrChecks, NamesLongerThanTheLimitAreRefused) {
    EXPECT_NO_THROW(check_name_text("CN", std::string(256, 'a'), 256));
    try {
        check_name_text("the subject's CN", std::string(257, 'a'), 256);
        FAIL() << "accepted";
    } catch (const ScepFailure& f) {
        EXPECT_EQ(f.info(), FailInfo::bad_request);
        EXPECT_STREQ(f.what(), "the subject's CN is 257 bytes long; the limit is 256");
    }
}

TEST(CsrChecks, TooManySansAreRefused) {
    CsrInfo csr;
    csr.subject_text = "CN=x";
    for (int i = 0; i < 33; ++i) csr.sans.push_back({"dns", "h" + std::to_string(i) + ".example", i});
    EXPECT_THROW(check_csr_names(csr, InputLimits{}), ScepFailure);
    csr.sans.resize(32);
    EXPECT_NO_THROW(check_csr_names(csr, InputLimits{}));
}

TEST(CsrChecks, NamedNistCurvesAreCertified) {
    for (const char* curve : {"P-256", "P-384", "P-521"}) {
        ossl::PKey key = ec_key(curve);
        ASSERT_TRUE(key) << curve;
        EXPECT_NO_THROW(check_public_key(key.get())) << curve;
    }
}

TEST(CsrChecks, OtherCurvesAreNot) {
    for (const char* curve : {"P-192", "secp256k1", "brainpoolP256r1"}) {
        ossl::PKey key = ec_key(curve);
        ASSERT_TRUE(key) << curve;
        EXPECT_EQ(refusal(key.get()), FailInfo::bad_alg) << curve;
    }
}

TEST(CsrChecks, RsaNeedsAnOddExponentOfAtLeast65537) {
    ossl::PKey f4 = rsa_key(RSA_F4);
    ASSERT_TRUE(f4);
    EXPECT_NO_THROW(check_public_key(f4.get()));
    ossl::PKey three = rsa_key(3);
    ASSERT_TRUE(three);
    EXPECT_EQ(refusal(three.get()), FailInfo::bad_request);
}

TEST(CsrChecks, OtherKeyTypesAreNotCertified) {
    ossl::PKey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    ASSERT_TRUE(ed);
    EXPECT_EQ(refusal(ed.get()), FailInfo::bad_alg);
}

// AddressSanitizer (scripts/sanitize) surrounds every stack slot with
// redzones: std::regex's recursive frames take about four times the stack.
#ifdef __SANITIZE_ADDRESS__
constexpr std::size_t kStackScale = 4;
#else
constexpr std::size_t kStackScale = 1;
#endif

// The subject limit exists so that a challenge's subject pattern cannot
// exhaust a thread's stack inside std::regex: a subject at the limit,
// matched on a thread with a quarter of the usual stack, must come back.
TEST(CsrChecks, ASubjectAtTheLimitIsSafeForRegexMatching) {
    std::string subject = "CN=" + std::string(InputLimits{}.max_subject_bytes - 3, 'a');
    bool matched = false;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (2u << 20) * kStackScale);
    pthread_t thread;
    struct Job { const std::string* s; bool* out; } job{&subject, &matched};
    ASSERT_EQ(pthread_create(&thread, &attr, [](void* p) -> void* {
        auto* j = static_cast<Job*>(p);
        *j->out = std::regex_match(*j->s, std::regex("CN=(a|b)+x?"));
        return nullptr;
    }, &job), 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
    EXPECT_TRUE(matched);
}

}  // namespace
}  // namespace scepter
