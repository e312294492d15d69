// CA and RA certificates near the end of their validity are named at load.
#include "ca/expiry_notice.h"
#include "test_keys.h"

#include <gtest/gtest.h>

#include <ctime>

namespace scepter {
namespace {

constexpr std::int64_t kDay = 86400;

CaMaterial ca_valid_for_an_hour() {
    CaMaterial m;
    m.ca.key = test::rsa_key();
    m.ca.cert = test::self_signed(m.ca.key.get(), "Expiring CA", "keyCertSign,cRLSign");
    return m;
}

TEST(ExpiryNotice, NothingWhenFarFromTheEnd) {
    std::int64_t now = std::time(nullptr);
    EXPECT_TRUE(expiry_warnings(ca_valid_for_an_hour(), now - 40 * kDay).empty());
}

TEST(ExpiryNotice, NamesTheCertificateAndTheDateWithinThirtyDays) {
    std::int64_t now = std::time(nullptr);
    auto w = expiry_warnings(ca_valid_for_an_hour(), now - 10 * kDay);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("the CA certificate 'CN=Expiring CA' expires on "), std::string::npos) << w[0];
    EXPECT_NE(w[0].find("(in 10 days): renew it before then"), std::string::npos) << w[0];
}

TEST(ExpiryNotice, SaysWhenItHasExpired) {
    std::int64_t now = std::time(nullptr);
    auto w = expiry_warnings(ca_valid_for_an_hour(), now + 2 * kDay);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("expired on "), std::string::npos) << w[0];
    EXPECT_NE(w[0].find("renew it now"), std::string::npos) << w[0];
}

TEST(ExpiryNotice, RaPairsAreCheckedToo) {
    CaMaterial m = ca_valid_for_an_hour();
    m.ca_is_ra = false;
    m.ra_signing.cert = test::self_signed(m.ca.key.get(), "RA Signing");
    m.ra_encryption.cert = test::self_signed(m.ca.key.get(), "RA Encryption");
    auto w = expiry_warnings(m, std::time(nullptr) - 5 * kDay);
    ASSERT_EQ(w.size(), 3u);
    EXPECT_NE(w[1].find("the RA signing certificate 'CN=RA Signing'"), std::string::npos) << w[1];
    EXPECT_NE(w[2].find("the RA encryption certificate 'CN=RA Encryption'"), std::string::npos) << w[2];
}

}  // namespace
}  // namespace scepter
