// The CA's CRL: numbered, timed, listing the store's revocations with their
// reasons, signed by the CA; republished only when it is about to expire.
#include "ca/crl.h"

#include "ca_fixture.h"
#include "store_fixture.h"

#include <gtest/gtest.h>

namespace scepter {
namespace {

class Crl : public store_test::StoreTest {
   protected:
    static void SetUpTestSuite() { ca_key_ = test::rsa_key(); }
    static void TearDownTestSuite() { ca_key_.reset(); }

    void SetUp() override {
        StoreTest::SetUp();
        store_ = open_sqlite_store(path_, 5000);
        ca_.ca = test::make_ca(ca_key_.get(), "CRL CA", 3650 * 86400L);
        cfg_.crl.validity_hours = 48;
        cfg_.crl.refresh_hours = 6;
    }
    void TearDown() override {
        store_.reset();
        StoreTest::TearDown();
    }

    // Records certificate n and revokes it.
    void revoke(int n, int reason, std::int64_t at) {
        IssuedCert c = store_test::make_cert(n);
        store_->record_issuance(c, store_test::make_tx(c));
        ASSERT_TRUE(store_->revoke(c.serial_hex, reason, at));
    }

    static ossl::Crl parse(const CrlRecord& r) {
        const unsigned char* p = r.der.data();
        return ossl::Crl(d2i_X509_CRL(nullptr, &p, long(r.der.size())));
    }

    static std::int64_t crl_number(X509_CRL* crl) {
        ossl::Asn1Integer n(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr)));
        std::int64_t out = -1;
        if (n) ASN1_INTEGER_get_int64(&out, n.get());
        return out;
    }

    static time_t unix_of(const ASN1_TIME* t) {
        struct tm tm {};
        ASN1_TIME_to_tm(t, &tm);
        return timegm(&tm);
    }

    static std::string serial_hex(const X509_REVOKED* r) {
        ossl::Bignum bn(ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), nullptr));
        ossl::Buffer<char> hex(BN_bn2hex(bn.get()));
        return hex.get();
    }

    // The entry's reasonCode, or -1 when it has none.
    static long reason_of(const X509_REVOKED* r) {
        using Enumerated = ossl::Owned<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;
        Enumerated code(static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(r, NID_crl_reason, nullptr, nullptr)));
        return code ? ASN1_ENUMERATED_get(code.get()) : -1;
    }

    static inline ossl::PKey ca_key_;
    std::unique_ptr<Store> store_;
    CaMaterial ca_;
    Config cfg_;
};

TEST_F(Crl, SignedByTheCaAndNamingIt) {
    ossl::Crl crl = parse(publish_crl(cfg_, ca_, *store_));
    ASSERT_TRUE(crl);
    EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
    EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_.ca.cert.get())), 1);
    EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca_.ca.cert.get())), 0);
    using AuthorityKeyId = ossl::Owned<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
    AuthorityKeyId aki(static_cast<AUTHORITY_KEYID*>(
        X509_CRL_get_ext_d2i(crl.get(), NID_authority_key_identifier, nullptr, nullptr)));
    ASSERT_TRUE(aki && aki->keyid);
    EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki->keyid, X509_get0_subject_key_id(ca_.ca.cert.get())), 0);
}

// An ECDSA CA signs its CRL with the hash of its curve's strength.
TEST_F(Crl, EcCaSignsWithTheDigestOfItsCurve) {
    for (auto [curve, nid] : {std::pair<const char*, int>{"P-256", NID_ecdsa_with_SHA256},
                              {"P-384", NID_ecdsa_with_SHA384}}) {
        ossl::PKey key(EVP_EC_gen(curve));
        ca_.ca = test::make_ca(key.get(), "EC CRL CA", 86400);
        ossl::Crl crl = parse(publish_crl(cfg_, ca_, *store_));
        ASSERT_TRUE(crl) << curve;
        EXPECT_EQ(X509_CRL_get_signature_nid(crl.get()), nid) << curve;
        EXPECT_EQ(X509_CRL_verify(crl.get(), key.get()), 1) << curve;
    }
}

TEST_F(Crl, NumbersIncreaseAndMatchTheExtension) {
    CrlRecord first = publish_crl(cfg_, ca_, *store_);
    CrlRecord second = publish_crl(cfg_, ca_, *store_);
    EXPECT_GE(first.number, 1);
    EXPECT_EQ(second.number, first.number + 1);
    EXPECT_EQ(crl_number(parse(first).get()), first.number);
    EXPECT_EQ(crl_number(parse(second).get()), second.number);
}

TEST_F(Crl, NextUpdateIsThisUpdatePlusTheConfiguredValidity) {
    CrlRecord r = publish_crl(cfg_, ca_, *store_);
    EXPECT_NEAR(double(r.this_update), double(std::time(nullptr)), 5);
    EXPECT_EQ(r.next_update, r.this_update + 48 * 3600);
    ossl::Crl crl = parse(r);
    EXPECT_EQ(unix_of(X509_CRL_get0_lastUpdate(crl.get())), r.this_update);
    EXPECT_EQ(unix_of(X509_CRL_get0_nextUpdate(crl.get())), r.next_update);
}

TEST_F(Crl, NoRevocationsNoEntries) {
    ossl::Crl crl = parse(publish_crl(cfg_, ca_, *store_));
    ASSERT_TRUE(crl);
    EXPECT_EQ(X509_CRL_get_REVOKED(crl.get()), nullptr);  // revokedCertificates left out
}

TEST_F(Crl, RevokedSerialsAppearWithDateAndReason) {
    revoke(1, 1, 1700000100);  // keyCompromise
    IssuedCert kept = store_test::make_cert(2);
    store_->record_issuance(kept, store_test::make_tx(kept));
    revoke(3, 4, 1700000300);  // superseded
    ossl::Crl crl = parse(publish_crl(cfg_, ca_, *store_));
    STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
    ASSERT_EQ(sk_X509_REVOKED_num(entries), 2);
    const X509_REVOKED* first = sk_X509_REVOKED_value(entries, 0);  // sorted by serial
    const X509_REVOKED* second = sk_X509_REVOKED_value(entries, 1);
    EXPECT_EQ(serial_hex(first), store_test::make_cert(1).serial_hex);
    EXPECT_EQ(reason_of(first), 1);
    EXPECT_EQ(unix_of(X509_REVOKED_get0_revocationDate(first)), 1700000100);
    EXPECT_EQ(serial_hex(second), store_test::make_cert(3).serial_hex);
    EXPECT_EQ(reason_of(second), 4);
    EXPECT_EQ(unix_of(X509_REVOKED_get0_revocationDate(second)), 1700000300);
}

TEST_F(Crl, UnspecifiedReasonIsLeftOut) {
    revoke(5, 0, 1700000500);
    ossl::Crl crl = parse(publish_crl(cfg_, ca_, *store_));
    STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
    ASSERT_EQ(sk_X509_REVOKED_num(entries), 1);
    EXPECT_EQ(reason_of(sk_X509_REVOKED_value(entries, 0)), -1);
}

TEST_F(Crl, PublishedCrlIsTheStoresLatest) {
    CrlRecord r = publish_crl(cfg_, ca_, *store_);
    auto latest = store_->latest_crl();
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->number, r.number);
    EXPECT_EQ(latest->der, r.der);
}

TEST_F(Crl, CurrentCrlPublishesWhenThereIsNone) {
    EXPECT_FALSE(store_->latest_crl().has_value());
    CrlRecord r = current_crl(cfg_, ca_, *store_);
    EXPECT_FALSE(r.der.empty());
    ASSERT_TRUE(store_->latest_crl().has_value());
    EXPECT_EQ(store_->latest_crl()->number, r.number);
}

TEST_F(Crl, CurrentCrlIsReusedWhileFreshEvenAfterARevocation) {
    CrlRecord first = current_crl(cfg_, ca_, *store_);
    revoke(6, 1, 1700000600);
    CrlRecord again = current_crl(cfg_, ca_, *store_);
    EXPECT_EQ(again.number, first.number);
    EXPECT_EQ(again.der, first.der);
}

TEST_F(Crl, CurrentCrlIsRepublishedWithinTheRefreshMargin) {
    CrlRecord first = current_crl(cfg_, ca_, *store_);
    revoke(7, 1, 1700000700);
    cfg_.crl.refresh_hours = 48;  // the CRL is now within the margin
    CrlRecord fresh = current_crl(cfg_, ca_, *store_);
    EXPECT_EQ(fresh.number, first.number + 1);
    ossl::Crl crl = parse(fresh);
    EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 1);
}

}  // namespace
}  // namespace scepter
