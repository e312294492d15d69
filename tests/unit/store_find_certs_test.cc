// Store::find_certs: the certificates a bulk revocation means, by one
// subject CN, one SAN entry or who enrolled; exact, never a substring.
#include "scepter/store.h"
#include "store_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace scepter {
namespace {

using namespace store_test;

constexpr std::int64_t kNow = 1710000000;

std::vector<std::string> serials(const std::vector<IssuedCert>& certs) {
    std::vector<std::string> out;
    for (const auto& c : certs) out.push_back(c.serial_hex);
    std::sort(out.begin(), out.end());
    return out;
}

class FindCertsTest : public StoreTest {
   protected:
    IssuedCert add(int n, const std::string& subject, const std::string& sans, const std::string& ip = "192.0.2.7") {
        IssuedCert c = make_cert(n);
        c.subject = subject;
        c.sans = sans;
        c.requester_ip = ip;
        store_->record_issuance(c, make_tx(c));
        return c;
    }
    // A one-time challenge handed to `user` by `requester`, stored unused.
    ChallengeRecord add_challenge(const std::string& id, const std::string& user, char secret) {
        ChallengeRecord ch;
        ch.id = id;
        ch.secret_sha256 = std::string(64, secret);
        ch.profile = "default";
        ch.user = user;
        ch.requester = "jamf";
        ch.created_at = kNow - 100;
        ch.expires_at = kNow + 3600;
        ch.claims_json = "{}";
        store_->add_challenge(ch, 0, kNow - 100);
        return ch;
    }
    std::vector<std::string> find(CertMatch::Field field, const std::string& value, std::size_t limit = 100) {
        return serials(store_->find_certs({field, value}, kNow, limit));
    }
    void SetUp() override {
        StoreTest::SetUp();
        store_ = open_sqlite_store(path_, 5000);
    }
    std::unique_ptr<Store> store_;
};

TEST_F(FindCertsTest, SubjectCnIsExact) {
    IssuedCert a = add(1, "CN=laptop-1,O=Example", "dns:laptop-1.example.com");
    IssuedCert b = add(2, "CN=laptop-12,O=Example", "");
    IssuedCert c = add(3, "O=laptop-1,CN=other", "");
    IssuedCert d = add(4, "CN=a\\,b+CN=laptop-1,O=Example", "");  // multi-valued RDN, escaped comma
    IssuedCert e = add(5, "CN=a\\,b,O=Example", "");
    EXPECT_EQ(find(CertMatch::Field::subject_cn, "laptop-1"), serials({a, d}));
    EXPECT_EQ(find(CertMatch::Field::subject_cn, "a,b"), serials({d, e}));
    EXPECT_EQ(find(CertMatch::Field::subject_cn, "laptop"), std::vector<std::string>{});
    EXPECT_EQ(find(CertMatch::Field::subject_cn, ""), std::vector<std::string>{});
    EXPECT_EQ(find(CertMatch::Field::subject_cn, "laptop-1", 1).size(), 1u);
}

TEST_F(FindCertsTest, SanIsOneWholeEntry) {
    IssuedCert a = add(1, "CN=x", "dns:host.example.com, uri:IntuneDeviceId://1234");
    IssuedCert b = add(2, "CN=y", "dns:other.example.com, email:host.example.com");
    IssuedCert c = add(3, "CN=z", "dns:host.example.com.evil");
    EXPECT_EQ(find(CertMatch::Field::san, "host.example.com"), serials({a, b}));
    EXPECT_EQ(find(CertMatch::Field::san, "dns:host.example.com"), serials({a}));
    EXPECT_EQ(find(CertMatch::Field::san, "DNS:host.example.com"), serials({a}));
    EXPECT_EQ(find(CertMatch::Field::san, "IntuneDeviceId://1234"), serials({a}));
    EXPECT_EQ(find(CertMatch::Field::san, "uri:IntuneDeviceId://1234"), serials({a}));
    EXPECT_EQ(find(CertMatch::Field::san, "IntuneDeviceId://123"), std::vector<std::string>{});
    EXPECT_EQ(find(CertMatch::Field::san, "example.com"), std::vector<std::string>{});
    (void)c;
}

TEST_F(FindCertsTest, OnlyUnrevokedAndUnexpired) {
    IssuedCert live = add(1, "CN=dev", "");
    IssuedCert revoked = add(2, "CN=dev", "");
    IssuedCert expired = make_cert(3);
    expired.subject = "CN=dev";
    expired.not_after = kNow - 1;
    store_->record_issuance(expired, make_tx(expired));
    ASSERT_TRUE(store_->revoke(revoked.serial_hex, 1, kNow - 10));
    EXPECT_EQ(find(CertMatch::Field::subject_cn, "dev"), serials({live}));
}

TEST_F(FindCertsTest, RequesterIsTheAddressOrTheChallengesUser) {
    IssuedCert by_ip = add(1, "CN=a", "", "198.51.100.9");
    IssuedCert by_challenge = add(2, "CN=b", "", "192.0.2.1");
    add(3, "CN=c", "", "198.51.100.99");
    ChallengeRecord ch = add_challenge("ID00000001", "alice", 'a');
    ASSERT_TRUE(store_->consume_challenge(ch.id, by_challenge.transaction_id, kNow - 50));
    EXPECT_EQ(find(CertMatch::Field::requester, "198.51.100.9"), serials({by_ip}));
    EXPECT_EQ(find(CertMatch::Field::requester, "alice"), serials({by_challenge}));
    EXPECT_EQ(find(CertMatch::Field::requester, "jamf"), serials({by_challenge}));
    EXPECT_EQ(find(CertMatch::Field::requester, "bob"), std::vector<std::string>{});
}

TEST_F(FindCertsTest, RequesterOfAnIssuanceThatConsumedItsChallenge) {
    ChallengeRecord ch = add_challenge("ID00000002", "carol", 'b');
    IssuedCert c = make_cert(9);
    c.subject = "CN=carol";
    store_->record_issuance(c, make_tx(c), {ch.id, c.transaction_id, kNow - 10});
    EXPECT_EQ(store_->find_cert(c.serial_hex)->requester, "carol");
    EXPECT_EQ(find(CertMatch::Field::requester, "carol"), serials({c}));
    // The certificate keeps its requester after the challenge row is purged.
    ASSERT_EQ(store_->purge_challenges(kNow + 7200), 1u);
    EXPECT_EQ(find(CertMatch::Field::requester, "carol"), serials({c}));
    EXPECT_EQ(find(CertMatch::Field::requester, "jamf"), std::vector<std::string>{});  // the asker went with the row
}

}  // namespace
}  // namespace scepter
