// The SQLite store's one-time challenges: the per-requester quota, single
// use under races (threads over two Store objects, and forked processes),
// expiry, purging, and the version 2 → 3 migration.
#include "scepter/store.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/store_sqlite.h"
#include "store_fixture.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

namespace scepter {
namespace {

using namespace store_test;

constexpr std::int64_t kNow = 1700000000;

ChallengeRecord make_challenge_record(const std::string& id, const std::string& requester = "admin",
                                      std::int64_t expires_at = kNow + 3600) {
    ChallengeRecord c;
    c.id = id;
    c.secret_sha256 = std::string(64, 'a');
    c.profile = "default";
    c.user = "alice";
    c.requester = requester;
    c.created_at = kNow;
    c.expires_at = expires_at;
    c.claims_json = R"({"subject":"CN=alice"})";
    return c;
}

TEST_F(StoreTest, ChallengeRoundTrip) {
    auto store = open_sqlite_store(path_, 5000);
    ChallengeRecord c = make_challenge_record("ID00000001");
    c.secret_sha256 = std::string(64, 'B');  // stored lower-case
    store->add_challenge(c, 5, kNow);

    auto got = store->find_challenge("ID00000001");
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->id, c.id);
    EXPECT_EQ(got->secret_sha256, std::string(64, 'b'));
    EXPECT_EQ(got->profile, "default");
    EXPECT_EQ(got->user, "alice");
    EXPECT_EQ(got->requester, "admin");
    EXPECT_EQ(got->created_at, kNow);
    EXPECT_EQ(got->expires_at, kNow + 3600);
    EXPECT_EQ(got->claims_json, c.claims_json);
    EXPECT_EQ(got->status, "active");
    EXPECT_EQ(got->transaction_id, "");
    EXPECT_EQ(got->consumed_at, 0);
    EXPECT_FALSE(store->find_challenge("ID00000002").has_value());
}

TEST_F(StoreTest, ChallengeRejectsBadRecords) {
    auto store = open_sqlite_store(path_, 5000);
    ChallengeRecord bad_hash = make_challenge_record("ID00000001");
    bad_hash.secret_sha256 = "not-a-hash";
    EXPECT_THROW(store->add_challenge(bad_hash, 0, kNow), StoreError);
    ChallengeRecord consumed = make_challenge_record("ID00000002");
    consumed.status = "consumed";
    EXPECT_THROW(store->add_challenge(consumed, 0, kNow), StoreError);
    ChallengeRecord no_id = make_challenge_record("");
    EXPECT_THROW(store->add_challenge(no_id, 0, kNow), StoreError);

    store->add_challenge(make_challenge_record("ID00000003"), 0, kNow);
    EXPECT_THROW(store->add_challenge(make_challenge_record("ID00000003"), 0, kNow), StoreError);
}

TEST_F(StoreTest, ChallengeQuotaPerRequester) {
    auto store = open_sqlite_store(path_, 5000);
    for (int i = 0; i < 5; ++i) store->add_challenge(make_challenge_record("A" + std::to_string(i)), 5, kNow);
    EXPECT_THROW(store->add_challenge(make_challenge_record("A5"), 5, kNow), ChallengeQuotaFull);
    EXPECT_FALSE(store->find_challenge("A5").has_value());  // nothing inserted
    // ChallengeQuotaFull is a StoreError too.
    EXPECT_THROW(store->add_challenge(make_challenge_record("A6"), 5, kNow), StoreError);

    // Another requester has its own quota.
    store->add_challenge(make_challenge_record("B0", "10.0.0.9"), 5, kNow);

    // A consumed challenge leaves the cache (as with NDES): room for one more.
    ASSERT_TRUE(store->consume_challenge("A0", "tx-1", kNow + 10));
    store->add_challenge(make_challenge_record("A7"), 5, kNow + 10);
    EXPECT_THROW(store->add_challenge(make_challenge_record("A8"), 5, kNow + 10), ChallengeQuotaFull);
}

TEST_F(StoreTest, WithdrawingUnusedChallengesFreesTheQuota) {
    auto store = open_sqlite_store(path_, 5000);
    for (int i = 0; i < 5; ++i) store->add_challenge(make_challenge_record("A" + std::to_string(i)), 5, kNow);
    store->add_challenge(make_challenge_record("B0", "10.0.0.9"), 5, kNow);
    store->add_challenge(make_challenge_record("OLD", "old", kNow - 10), 5, kNow - 3600);
    ASSERT_TRUE(store->consume_challenge("A0", "tx-1", kNow + 1));

    EXPECT_EQ(store->withdraw_unused_challenges("admin"), 4u);  // A1..A4; A0 was used
    EXPECT_TRUE(store->find_challenge("A0").has_value());
    EXPECT_FALSE(store->find_challenge("A1").has_value());
    EXPECT_TRUE(store->find_challenge("B0").has_value());
    for (int i = 5; i < 10; ++i) store->add_challenge(make_challenge_record("A" + std::to_string(i)), 5, kNow + 2);

    EXPECT_EQ(store->withdraw_unused_challenges(""), 7u);  // A5..A9, B0 and the expired OLD
    EXPECT_TRUE(store->find_challenge("A0").has_value());
    EXPECT_EQ(store->withdraw_unused_challenges(""), 0u);
}

TEST_F(StoreTest, ChallengeQuotaZeroIsUnlimited) {
    auto store = open_sqlite_store(path_, 5000);
    for (int i = 0; i < 50; ++i) store->add_challenge(make_challenge_record("U" + std::to_string(i)), 0, kNow);
    EXPECT_TRUE(store->find_challenge("U49").has_value());
}

TEST_F(StoreTest, ExpiredChallengesDoNotCountAgainstTheQuota) {
    auto store = open_sqlite_store(path_, 5000);
    // Two that expire at kNow + 60, three later.
    store->add_challenge(make_challenge_record("E0", "admin", kNow + 60), 5, kNow);
    store->add_challenge(make_challenge_record("E1", "admin", kNow + 60), 5, kNow);
    for (int i = 2; i < 5; ++i) store->add_challenge(make_challenge_record("E" + std::to_string(i)), 5, kNow);
    EXPECT_THROW(store->add_challenge(make_challenge_record("E5"), 5, kNow + 59), ChallengeQuotaFull);
    // At expires_at a challenge is expired (expires_at > now is the live test).
    store->add_challenge(make_challenge_record("E5"), 5, kNow + 60);
    store->add_challenge(make_challenge_record("E6"), 5, kNow + 60);
    EXPECT_THROW(store->add_challenge(make_challenge_record("E7"), 5, kNow + 60), ChallengeQuotaFull);
}

TEST_F(StoreTest, ChallengeIsConsumedOnce) {
    auto store = open_sqlite_store(path_, 5000);
    store->add_challenge(make_challenge_record("C1"), 5, kNow);
    EXPECT_TRUE(store->consume_challenge("C1", "tx-first", kNow + 5));
    EXPECT_FALSE(store->consume_challenge("C1", "tx-second", kNow + 6));

    auto got = store->find_challenge("C1");
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->status, "consumed");
    EXPECT_EQ(got->transaction_id, "tx-first");
    EXPECT_EQ(got->consumed_at, kNow + 5);

    EXPECT_FALSE(store->consume_challenge("unknown", "tx", kNow));
}

TEST_F(StoreTest, ExpiredChallengeCannotBeConsumed) {
    auto store = open_sqlite_store(path_, 5000);
    store->add_challenge(make_challenge_record("X1", "admin", kNow + 60), 5, kNow);
    EXPECT_FALSE(store->consume_challenge("X1", "tx", kNow + 60));  // expired at expires_at
    EXPECT_FALSE(store->consume_challenge("X1", "tx", kNow + 3600));
    EXPECT_EQ(store->find_challenge("X1")->status, "active");
    EXPECT_TRUE(store->consume_challenge("X1", "tx", kNow + 59));
}

// Sixteen enrollments present the same challenge at once, through two Store
// objects (two worker processes' worth of connection pools): one wins.
TEST_F(StoreTest, RacingConsumersHaveExactlyOneWinner) {
    auto first = open_sqlite_store(path_, 10000);
    auto second = open_sqlite_store(path_, 10000);
    constexpr int kRounds = 20;
    constexpr int kThreads = 16;
    for (int round = 0; round < kRounds; ++round) {
        std::string id = "R" + std::to_string(round);
        first->add_challenge(make_challenge_record(id), 0, kNow);
        std::atomic<int> ready{0};
        std::atomic<int> winners{0};
        std::atomic<int> errors{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            Store& store = t % 2 == 0 ? *first : *second;
            threads.emplace_back([&, t] {
                ++ready;
                while (ready.load() < kThreads) std::this_thread::yield();
                try {
                    if (store.consume_challenge(id, "tx-" + std::to_string(t), kNow + 1)) ++winners;
                } catch (const std::exception& e) {
                    ADD_FAILURE() << e.what();
                    ++errors;
                }
            });
        }
        for (auto& th : threads) th.join();
        EXPECT_EQ(winners.load(), 1) << "round " << round;
        EXPECT_EQ(errors.load(), 0);
        EXPECT_EQ(second->find_challenge(id)->status, "consumed");
    }
}

// The same with real processes, each with its own Store.
TEST_F(StoreTest, RacingProcessesConsumeEachChallengeOnce) {
    constexpr int kChallenges = 60;
    constexpr int kProcesses = 4;
    {
        auto store = open_sqlite_store(path_, 10000);
        for (int i = 0; i < kChallenges; ++i) store->add_challenge(make_challenge_record("P" + std::to_string(i)), 0, kNow);
    }
    auto consume_all = [this](int who) {
        int won = 0;
        auto store = open_sqlite_store(path_, 10000);
        for (int i = 0; i < kChallenges; ++i) {
            if (store->consume_challenge("P" + std::to_string(i), "proc-" + std::to_string(who), kNow + 1)) ++won;
        }
        return won;
    };
    std::vector<pid_t> children;
    for (int p = 1; p < kProcesses; ++p) {
        pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            int won = -1;
            try {
                won = consume_all(p);
            } catch (...) {
            }
            _exit(won < 0 ? 255 : won);
        }
        children.push_back(child);
    }
    int total = consume_all(0);
    for (pid_t child : children) {
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_NE(WEXITSTATUS(status), 255);
        total += WEXITSTATUS(status);
    }
    EXPECT_EQ(total, kChallenges);
    auto store = open_sqlite_store(path_, 10000);
    for (int i = 0; i < kChallenges; ++i) {
        auto c = store->find_challenge("P" + std::to_string(i));
        ASSERT_TRUE(c.has_value());
        EXPECT_EQ(c->status, "consumed");
        EXPECT_EQ(c->transaction_id.rfind("proc-", 0), 0u);
    }
}

TEST_F(StoreTest, PurgeDeletesExpiredChallengesConsumedOrNot) {
    auto store = open_sqlite_store(path_, 5000);
    store->add_challenge(make_challenge_record("old-active", "admin", kNow + 60), 0, kNow);
    store->add_challenge(make_challenge_record("old-used", "admin", kNow + 60), 0, kNow);
    store->add_challenge(make_challenge_record("live-used", "admin", kNow + 3600), 0, kNow);
    store->add_challenge(make_challenge_record("live", "admin", kNow + 3600), 0, kNow);
    ASSERT_TRUE(store->consume_challenge("old-used", "tx-1", kNow + 1));
    ASSERT_TRUE(store->consume_challenge("live-used", "tx-2", kNow + 1));

    EXPECT_EQ(store->purge_challenges(kNow + 60), 0u);  // expires_at < before, strictly
    EXPECT_EQ(store->purge_challenges(kNow + 61), 2u);
    EXPECT_FALSE(store->find_challenge("old-active").has_value());
    EXPECT_FALSE(store->find_challenge("old-used").has_value());
    // Consumed but not yet expired: kept (a replay still finds it consumed).
    EXPECT_EQ(store->find_challenge("live-used")->status, "consumed");
    EXPECT_EQ(store->find_challenge("live")->status, "active");
    EXPECT_EQ(store->purge_challenges(kNow + 61), 0u);
}

// ---- migration from version 2 ----

// What version 2 of the store created (same columns and indexes; compact
// layout), with a certificate, a revocation, a pending request and a CRL.
constexpr const char* kVersion2Schema = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE certificates (
    serial TEXT NOT NULL PRIMARY KEY, subject TEXT NOT NULL, sans TEXT NOT NULL,
    sha1 TEXT NOT NULL, sha256 TEXT NOT NULL, not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL, template TEXT NOT NULL, profile TEXT NOT NULL,
    transaction_id TEXT NOT NULL, requester_ip TEXT NOT NULL, issued_at INTEGER NOT NULL,
    status TEXT NOT NULL, der BLOB NOT NULL, revoked_at INTEGER, revocation_reason INTEGER);
CREATE INDEX certificates_sha1 ON certificates(sha1);
CREATE INDEX certificates_sha256 ON certificates(sha256);
CREATE INDEX certificates_issued_at ON certificates(issued_at);
CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE status = 'revoked';
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY, transaction_id TEXT NOT NULL, updated_at INTEGER NOT NULL,
    profile TEXT NOT NULL, message_type INTEGER NOT NULL, status TEXT NOT NULL,
    fail_info TEXT NOT NULL, fail_text TEXT NOT NULL,
    serial TEXT REFERENCES certificates(serial), requester_ip TEXT NOT NULL);
CREATE INDEX transactions_by_id ON transactions(transaction_id, updated_at);
CREATE TABLE pending_requests (
    transaction_id TEXT NOT NULL PRIMARY KEY, profile TEXT NOT NULL, template TEXT NOT NULL,
    message_type INTEGER NOT NULL, subject TEXT NOT NULL, requester_ip TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    reason TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    serial TEXT REFERENCES certificates(serial), csr BLOB NOT NULL, signer BLOB NOT NULL);
CREATE INDEX pending_requests_by_status ON pending_requests(status, created_at);
CREATE INDEX pending_requests_by_created ON pending_requests(created_at);
CREATE TABLE crls (number INTEGER NOT NULL PRIMARY KEY, this_update INTEGER NOT NULL,
    next_update INTEGER NOT NULL, der BLOB NOT NULL);
CREATE TABLE crl_counter (only_row INTEGER NOT NULL PRIMARY KEY CHECK (only_row = 1),
    last_number INTEGER NOT NULL);
INSERT INTO crl_counter (only_row, last_number) VALUES (1, 3);
INSERT INTO schema_version (version) VALUES (2);
INSERT INTO certificates VALUES ('7F02', 'CN=v2,O=Example', 'DNS:v2.example.com',
    'cccc', 'dddd', 1650000000, 1750000000, 'general_purpose', 'default', 'tx-v2',
    '192.0.2.2', 1650000000, 'revoked', X'3082', 1660000000, 1);
INSERT INTO transactions (transaction_id, updated_at, profile, message_type, status,
    fail_info, fail_text, serial, requester_ip)
    VALUES ('tx-v2', 1650000000, 'default', 19, 'success', '', '', '7F02', '192.0.2.2');
INSERT INTO pending_requests VALUES ('tx-wait', 'default', 'general_purpose', 19,
    'CN=waiting', '192.0.2.3', 'pending', '', 1655000000, 1655000000, NULL, X'30', X'31');
INSERT INTO crls VALUES (3, 1660000000, 1660600000, X'3083');
)sql";

void write_version2_file(const std::string& path) {
    sqlite::Connection conn(path, 5000, /*create=*/true);
    conn.exec("PRAGMA journal_mode = WAL");
    conn.exec(kVersion2Schema);
}

TEST_F(StoreTest, MigratesAVersion2FileKeepingItsData) {
    write_version2_file(path_);
    auto store = open_sqlite_store(path_, 5000);
    {
        sqlite::Connection conn(path_, 5000);
        EXPECT_EQ(conn.query_text("SELECT MAX(version) FROM schema_version"), "5");
        EXPECT_EQ(conn.query_text("SELECT COUNT(*) FROM schema_version"), "1");
        EXPECT_EQ(conn.query_text("SELECT COUNT(*) FROM sqlite_master WHERE name = 'challenges_by_requester'"),
                  "1");
    }

    auto cert = store->find_cert("7F02");
    ASSERT_TRUE(cert.has_value());
    EXPECT_EQ(cert->status, "revoked");
    EXPECT_EQ(cert->revoked_at, 1660000000);
    EXPECT_EQ(cert->revocation_reason, 1);
    EXPECT_EQ(store->find_transaction("tx-v2")->serial_hex, "7F02");
    ASSERT_EQ(store->list_revoked().size(), 1u);
    auto pending = store->find_pending("tx-wait");
    ASSERT_TRUE(pending.has_value());
    EXPECT_EQ(pending->subject, "CN=waiting");
    EXPECT_EQ(store->latest_crl()->number, 3);
    EXPECT_EQ(store->next_crl_number(), 4);

    // Challenges work on the migrated file, and reopening does not migrate again.
    store->add_challenge(make_challenge_record("M1"), 5, kNow);
    store.reset();
    auto reopened = open_sqlite_store(path_, 5000);
    EXPECT_TRUE(reopened->consume_challenge("M1", "tx", kNow + 1));
    EXPECT_EQ(reopened->find_pending("tx-wait")->status, "pending");
}

TEST_F(StoreTest, MigratedAndFreshChallengeTablesAreTheSame) {
    write_version2_file(path_);
    open_sqlite_store(path_, 5000);
    std::string fresh_path = (dir_ / "fresh.db").string();
    open_sqlite_store(fresh_path, 5000);
    auto dump = [](const std::string& path) {
        sqlite::Connection conn(path, 5000);
        auto st = conn.prepare("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'challenges' ORDER BY name");
        std::string out;
        while (st.step()) out += st.text(0) + " " + st.text(1) + " " + st.text(2) + "\n";
        return out;
    };
    EXPECT_NE(dump(fresh_path), "");
    EXPECT_EQ(dump(path_), dump(fresh_path));
}

// An issuance and its challenge's consumption commit together: a challenge
// already used writes no certificate, and a certificate that cannot be
// written (a duplicate serial) leaves the challenge unused.
TEST_F(StoreTest, IssuanceAndChallengeConsumptionAreOneTransaction) {
    auto store = open_sqlite_store(path_, 5000);
    store->add_challenge(make_challenge_record("T1"), 0, kNow);
    IssuedCert first = make_cert(1);
    store->record_issuance(first, make_tx(first), {"T1", first.transaction_id, kNow + 1});
    auto used = store->find_challenge("T1");
    ASSERT_TRUE(used.has_value());
    EXPECT_EQ(used->status, "consumed");
    EXPECT_EQ(used->transaction_id, first.transaction_id);

    IssuedCert second = make_cert(2);
    EXPECT_THROW(store->record_issuance(second, make_tx(second), {"T1", second.transaction_id, kNow + 2}),
                 ChallengeAlreadyUsed);
    EXPECT_FALSE(store->find_cert(second.serial_hex).has_value());
    EXPECT_FALSE(store->find_transaction(second.transaction_id).has_value());

    store->add_challenge(make_challenge_record("T2"), 0, kNow);
    IssuedCert same_serial = make_cert(1);
    same_serial.transaction_id = "tx-other";
    EXPECT_THROW(store->record_issuance(same_serial, make_tx(same_serial), {"T2", "tx-other", kNow + 3}),
                 DuplicateSerial);
    EXPECT_EQ(store->find_challenge("T2")->status, "active");

    store->add_challenge(make_challenge_record("T3", "admin", kNow + 10), 0, kNow);
    IssuedCert late = make_cert(3);
    EXPECT_THROW(store->record_issuance(late, make_tx(late), {"T3", late.transaction_id, kNow + 10}),
                 ChallengeAlreadyUsed);  // expired when looked up
    EXPECT_FALSE(store->find_cert(late.serial_hex).has_value());
}

TEST_F(StoreTest, ParkingARequestConsumesItsChallengeInTheSameTransaction) {
    auto store = open_sqlite_store(path_, 5000);
    store->add_challenge(make_challenge_record("P1"), 0, kNow);
    PendingRequest req;
    req.transaction_id = "tx-park";
    req.profile = "default";
    req.template_name = "general_purpose";
    req.message_type = 19;
    req.subject = "CN=park";
    req.created_at = req.updated_at = kNow;
    req.csr_der = {0x30, 0x00};
    req.signer_der = {0x30, 0x00};
    EXPECT_TRUE(store->add_pending(req, {"P1", req.transaction_id, kNow + 1}));
    EXPECT_EQ(store->find_challenge("P1")->status, "consumed");

    PendingRequest other = req;
    other.transaction_id = "tx-park-2";
    EXPECT_THROW(store->add_pending(other, {"P1", other.transaction_id, kNow + 2}), ChallengeAlreadyUsed);
    EXPECT_FALSE(store->find_pending("tx-park-2").has_value());
    // The same request again is a poll: no second row, nothing consumed.
    EXPECT_FALSE(store->add_pending(req, {"P1", req.transaction_id, kNow + 3}));
}

}  // namespace
}  // namespace scepter
