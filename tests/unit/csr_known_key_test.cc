// A CSR holding the signer certificate's key is read with that key (no
// second decode) and reads exactly as d2i_X509_REQ reads it; anything else
// goes the ordinary way.
#include "ca/csr_known_key.h"

#include "ca_fixture.h"
#include "scepter/der.h"

#include <gtest/gtest.h>

namespace scepter {
namespace {

// The signer certificate as a message carries it: parsed from DER.
ossl::X509Ptr signer_for(EVP_PKEY* key) {
    ossl::X509Ptr made = test::self_signed(key, "device-signer");
    return cert_from_der(to_der(made.get(), i2d_X509));
}

test::CsrSpec full_spec() {
    test::CsrSpec spec;
    spec.subject = {{"CN", "device-7"}, {"O", "Example"}};
    spec.sans = "DNS:device-7.example,email:d7@example.com,IP:192.0.2.7";
    spec.key_usage = "critical,digitalSignature,keyEncipherment";
    spec.extended_key_usage = "clientAuth";
    spec.name_value_pairs = {{"ValidityPeriod", "Days"}, {"ValidityPeriodUnits", "30"}};
    return spec;
}

Bytes spki_der(X509_PUBKEY* key) { return to_der(key, i2d_X509_PUBKEY); }

void expect_same_reading(const CsrInfo& a, const CsrInfo& b) {
    EXPECT_EQ(a.subject_text, b.subject_text);
    ASSERT_EQ(a.sans.size(), b.sans.size());
    for (std::size_t i = 0; i < a.sans.size(); ++i) {
        EXPECT_EQ(a.sans[i].type, b.sans[i].type);
        EXPECT_EQ(a.sans[i].value, b.sans[i].value);
    }
    EXPECT_EQ(a.key_usage, b.key_usage);
    EXPECT_EQ(a.extended_key_usage, b.extended_key_usage);
    EXPECT_EQ(a.key_type, b.key_type);
    EXPECT_EQ(a.key_bits, b.key_bits);
    EXPECT_EQ(a.signature_digest, b.signature_digest);
    EXPECT_EQ(a.requested_validity_seconds, b.requested_validity_seconds);
    EXPECT_EQ(X509_NAME_cmp(X509_REQ_get_subject_name(a.req.get()), X509_REQ_get_subject_name(b.req.get())), 0);
    EXPECT_EQ(spki_der(X509_REQ_get_X509_PUBKEY(a.req.get())), spki_der(X509_REQ_get_X509_PUBKEY(b.req.get())));
    EXPECT_EQ(EVP_PKEY_eq(a.key.get(), b.key.get()), 1);
}

std::string refusal_of(const Bytes& der, X509* signer) {
    try {
        read_csr(der, InputLimits{}, signer);
    } catch (const ScepFailure& f) {
        return f.what();
    }
    return "accepted";
}

TEST(CsrKnownKey, TheSignersKeyReadsTheCsrAsD2iDoes) {
    ossl::PKey keys[] = {test::rsa_key(), test::ec_key()};
    for (const ossl::PKey& key : keys) {
        ossl::X509Ptr signer = signer_for(key.get());
        Bytes der = test::csr_der(key.get(), full_spec());
        auto known = read_csr_with_known_key(der, signer.get());
        ASSERT_TRUE(known.has_value());
        EXPECT_TRUE(known->signature_verifies);
        EXPECT_EQ(known->key.get(), X509_get0_pubkey(signer.get()));  // the signer's, not a second decode
        expect_same_reading(read_csr(der, InputLimits{}, signer.get()), read_csr(der));
    }
}

TEST(CsrKnownKey, AnotherKeyIsReadTheOrdinaryWay) {
    ossl::PKey key = test::rsa_key(), other = test::rsa_key();
    ossl::X509Ptr signer = signer_for(other.get());
    Bytes der = test::csr_der(key.get(), full_spec());
    EXPECT_FALSE(read_csr_with_known_key(der, signer.get()).has_value());
    EXPECT_FALSE(read_csr_with_known_key(der, nullptr).has_value());
    CsrInfo info = read_csr(der, InputLimits{}, signer.get());
    EXPECT_EQ(EVP_PKEY_eq(info.key.get(), key.get()), 1);
}

TEST(CsrKnownKey, ABrokenSignatureIsRefused) {
    ossl::PKey key = test::rsa_key();
    ossl::X509Ptr signer = signer_for(key.get());
    Bytes der = test::csr_der(key.get(), full_spec());
    der.back() ^= 0x01;  // the last byte of the signature
    auto known = read_csr_with_known_key(der, signer.get());
    ASSERT_TRUE(known.has_value());
    EXPECT_FALSE(known->signature_verifies);
    EXPECT_EQ(refusal_of(der, signer.get()), "the CSR's signature does not verify");
    EXPECT_EQ(refusal_of(der, nullptr), "the CSR's signature does not verify");
}

// What read_csr answers: its refusal, or the fields it read.
std::string outcome(const Bytes& der, const InputLimits& limits, X509* signer) {
    try {
        CsrInfo info = read_csr(der, limits, signer);
        std::string out = info.subject_text + "|" + info.key_type + std::to_string(info.key_bits);
        for (const auto& san : info.sans) out += "|" + san.type + ":" + san.value;
        return out + "|" + std::to_string(info.requested_validity_seconds.value_or(0));
    } catch (const ScepFailure& f) {
        return std::string("refused: ") + f.what();
    }
}

TEST(CsrKnownKey, EveryRefusalIsTheSameBothWays) {
    ossl::PKey key = test::rsa_key();
    ossl::X509Ptr signer = signer_for(key.get());
    std::vector<test::CsrSpec> specs(6, full_spec());
    specs[1].more_extensions = {{NID_subject_alt_name, "DNS:b.example"}};                  // SAN twice
    specs[2].more_extensions = {{NID_subject_alt_name, "DER:300582036162"}};               // unreadable
    specs[3].name_value_pairs = {{"ValidityPeriod", "Days"}};                               // half a pair
    specs[4].subject = {{"CN", std::string(50, 'x')}};                                      // over tight
    specs[5].name_value_pairs = {{"ValidityPeriod", "Fortnights"}, {"ValidityPeriodUnits", "2"}};
    InputLimits tight;
    tight.max_name_bytes = 32;
    for (std::size_t i = 0; i < specs.size(); ++i) {
        Bytes der = test::csr_der(key.get(), specs[i]);
        ASSERT_TRUE(read_csr_with_known_key(der, signer.get()).has_value());
        EXPECT_EQ(outcome(der, tight, signer.get()).rfind("refused: ", 0) == 0, i > 0) << i;
        for (const InputLimits& limits : {InputLimits{}, tight})
            EXPECT_EQ(outcome(der, limits, signer.get()), outcome(der, limits, nullptr));
    }
}

TEST(CsrKnownKey, TrailingBytesAreRefusedBothWays) {
    ossl::PKey key = test::rsa_key();
    ossl::X509Ptr signer = signer_for(key.get());
    Bytes der = test::csr_der(key.get(), {});
    der.push_back(0);
    EXPECT_FALSE(read_csr_with_known_key(der, signer.get()).has_value());
    EXPECT_EQ(refusal_of(der, signer.get()), "the decrypted content is not a PKCS#10 request");
}

}  // namespace
}  // namespace scepter
