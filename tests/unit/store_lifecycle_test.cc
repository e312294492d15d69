// The SQLite store's lifecycle: pending requests and their decisions,
// issuance of an approved request, revocation, CRL numbers and storage.
#include "scepter/store.h"
#include "store/sqlite/sqlite_db.h"
#include "store_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace scepter {
namespace {

using namespace store_test;

PendingRequest make_pending(const std::string& transaction_id, std::int64_t created_at) {
    PendingRequest r;
    r.transaction_id = transaction_id;
    r.profile = "default";
    r.template_name = "general_purpose";
    r.message_type = 19;
    r.subject = "CN=" + transaction_id + ",O=Example";
    r.requester_ip = "198.51.100.4";
    r.created_at = created_at;
    r.updated_at = created_at;
    r.csr_der = {0x30, 0x82, 0x02, 0x01};
    r.signer_der = {0x30, 0x82, 0x03, 0x02};
    return r;
}

TEST_F(StoreTest, PendingRoundTripAndAddTwice) {
    auto store = open_sqlite_store(path_, 5000);
    PendingRequest req = make_pending("tx-pending", 100);
    EXPECT_TRUE(store->add_pending(req));

    PendingRequest again = make_pending("tx-pending", 200);
    again.subject = "CN=impostor";
    EXPECT_FALSE(store->add_pending(again));

    auto found = store->find_pending("tx-pending");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->subject, req.subject);  // the first one, untouched
    EXPECT_EQ(found->status, "pending");
    EXPECT_EQ(found->profile, req.profile);
    EXPECT_EQ(found->template_name, req.template_name);
    EXPECT_EQ(found->message_type, 19);
    EXPECT_EQ(found->requester_ip, req.requester_ip);
    EXPECT_EQ(found->created_at, 100);
    EXPECT_EQ(found->serial_hex, "");
    EXPECT_EQ(found->csr_der, req.csr_der);
    EXPECT_EQ(found->signer_der, req.signer_der);
    EXPECT_FALSE(store->find_pending("unknown").has_value());
}

TEST_F(StoreTest, DecideOnceOnly) {
    auto store = open_sqlite_store(path_, 5000);
    ASSERT_TRUE(store->add_pending(make_pending("tx-a", 1)));
    ASSERT_TRUE(store->add_pending(make_pending("tx-d", 2)));

    EXPECT_TRUE(store->decide_pending("tx-a", true, "known device", 50));
    EXPECT_FALSE(store->decide_pending("tx-a", false, "changed my mind", 60));
    EXPECT_TRUE(store->decide_pending("tx-d", false, "unknown device", 70));
    EXPECT_FALSE(store->decide_pending("tx-d", true, "", 80));
    EXPECT_FALSE(store->decide_pending("tx-unknown", true, "", 90));

    auto approved = store->find_pending("tx-a");
    ASSERT_TRUE(approved.has_value());
    EXPECT_EQ(approved->status, "approved");
    EXPECT_EQ(approved->reason, "known device");
    EXPECT_EQ(approved->updated_at, 50);
    auto denied = store->find_pending("tx-d");
    ASSERT_TRUE(denied.has_value());
    EXPECT_EQ(denied->status, "denied");
    EXPECT_EQ(denied->reason, "unknown device");
}

TEST_F(StoreTest, IssuingAnApprovedRequestMarksItIssued) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert cert = make_cert(42);
    ASSERT_TRUE(store->add_pending(make_pending(cert.transaction_id, 10)));
    ASSERT_TRUE(store->decide_pending(cert.transaction_id, true, "", 20));

    // Spelled in lower case: the pending row gets the canonical serial.
    std::string lower = cert.serial_hex;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    cert.serial_hex = lower;
    store->record_issuance(cert, make_tx(cert));

    auto req = store->find_pending(cert.transaction_id);
    ASSERT_TRUE(req.has_value());
    EXPECT_EQ(req->status, "issued");
    EXPECT_EQ(req->serial_hex, make_cert(42).serial_hex);
    EXPECT_EQ(req->updated_at, cert.issued_at);
    EXPECT_FALSE(store->decide_pending(cert.transaction_id, false, "", 30));
}

TEST_F(StoreTest, SecondIssuanceOfOneApprovedRequestWritesNothing) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert first = make_cert(44);
    ASSERT_TRUE(store->add_pending(make_pending(first.transaction_id, 10)));
    ASSERT_TRUE(store->decide_pending(first.transaction_id, true, "", 20));
    store->record_issuance(first, make_tx(first));

    // A second worker answering a simultaneous poll signed another certificate.
    IssuedCert second = make_cert(45);
    second.transaction_id = first.transaction_id;
    EXPECT_THROW(store->record_issuance(second, make_tx(second)), PendingAlreadyIssued);
    EXPECT_FALSE(store->find_cert(second.serial_hex).has_value());
    EXPECT_EQ(store->find_pending(first.transaction_id)->serial_hex, first.serial_hex);
}

TEST_F(StoreTest, IssuanceLeavesADeniedRequestDenied) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert cert = make_cert(43);
    ASSERT_TRUE(store->add_pending(make_pending(cert.transaction_id, 10)));
    ASSERT_TRUE(store->decide_pending(cert.transaction_id, false, "no", 20));
    store->record_issuance(cert, make_tx(cert));
    EXPECT_EQ(store->find_pending(cert.transaction_id)->status, "denied");
    EXPECT_EQ(store->find_pending(cert.transaction_id)->serial_hex, "");
}

TEST_F(StoreTest, FailedIssuanceLeavesThePendingRequestAlone) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert first = make_cert(1);
    store->record_issuance(first, make_tx(first));
    IssuedCert clash = make_cert(2);
    clash.serial_hex = first.serial_hex;
    ASSERT_TRUE(store->add_pending(make_pending(clash.transaction_id, 10)));
    ASSERT_TRUE(store->decide_pending(clash.transaction_id, true, "", 20));
    EXPECT_THROW(store->record_issuance(clash, make_tx(clash)), DuplicateSerial);
    EXPECT_EQ(store->find_pending(clash.transaction_id)->status, "approved");
}

TEST_F(StoreTest, ListPendingByStatusNewestFirst) {
    auto store = open_sqlite_store(path_, 5000);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->add_pending(make_pending("tx-" + std::to_string(i), 100 + i)));
    ASSERT_TRUE(store->decide_pending("tx-1", true, "", 200));
    ASSERT_TRUE(store->decide_pending("tx-3", false, "", 200));

    auto pending = store->list_pending("pending", 10);
    ASSERT_EQ(pending.size(), 3u);
    EXPECT_EQ(pending[0].transaction_id, "tx-4");
    EXPECT_EQ(pending[2].transaction_id, "tx-0");
    EXPECT_EQ(store->list_pending("approved", 10).size(), 1u);
    EXPECT_EQ(store->list_pending("denied", 10)[0].transaction_id, "tx-3");
    EXPECT_TRUE(store->list_pending("issued", 10).empty());
    auto all = store->list_pending("", 2);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].transaction_id, "tx-4");
    EXPECT_EQ(all[1].transaction_id, "tx-3");
}

TEST_F(StoreTest, RevokeOnceInAnySpelling) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert cert = make_cert(0x5a);
    store->record_issuance(cert, make_tx(cert));

    std::string spelled = "00:" + cert.serial_hex.substr(0, 2) + ":" + cert.serial_hex.substr(2);
    std::transform(spelled.begin(), spelled.end(), spelled.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    EXPECT_TRUE(store->revoke(spelled, 1, 12345));
    EXPECT_FALSE(store->revoke(cert.serial_hex, 4, 23456));  // already revoked: first one stands
    EXPECT_FALSE(store->revoke("7F00", 1, 1));                // unknown
    EXPECT_FALSE(store->revoke("not hex", 1, 1));
    EXPECT_THROW(store->revoke(cert.serial_hex, 7, 1), StoreError);   // unused code
    EXPECT_THROW(store->revoke(cert.serial_hex, -1, 1), StoreError);

    auto found = store->find_cert(cert.sha256_hex);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->status, "revoked");
    EXPECT_EQ(found->revoked_at, 12345);
    EXPECT_EQ(found->revocation_reason, 1);
    auto listed = store->list_certs(1);
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].status, "revoked");
    EXPECT_EQ(listed[0].revocation_reason, 1);
}

TEST_F(StoreTest, NewCertificatesAreNotRevoked) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert cert = make_cert(7);
    store->record_issuance(cert, make_tx(cert));
    auto found = store->find_cert(cert.serial_hex);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->status, "issued");
    EXPECT_EQ(found->revoked_at, 0);
    EXPECT_EQ(found->revocation_reason, -1);
    EXPECT_TRUE(store->list_revoked().empty());
}

TEST_F(StoreTest, ListRevokedOldestFirst) {
    auto store = open_sqlite_store(path_, 5000);
    for (int i = 0; i < 4; ++i) {
        IssuedCert c = make_cert(i);
        store->record_issuance(c, make_tx(c));
    }
    ASSERT_TRUE(store->revoke(make_cert(2).serial_hex, 4, 300));
    ASSERT_TRUE(store->revoke(make_cert(0).serial_hex, 0, 200));
    auto revoked = store->list_revoked();
    ASSERT_EQ(revoked.size(), 2u);
    EXPECT_EQ(revoked[0].serial_hex, make_cert(0).serial_hex);
    EXPECT_EQ(revoked[0].revoked_at, 200);
    EXPECT_EQ(revoked[0].reason, 0);
    EXPECT_EQ(revoked[1].serial_hex, make_cert(2).serial_hex);
    EXPECT_EQ(revoked[1].reason, 4);
}

TEST_F(StoreTest, CrlNumbersStrictlyIncreaseAcrossStoresAndThreads) {
    auto worker_a = open_sqlite_store(path_, 10000);
    auto worker_b = open_sqlite_store(path_, 10000);
    constexpr int kThreads = 6;
    constexpr int kPerThread = 50;
    std::mutex mutex;
    std::vector<std::int64_t> all;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        Store* store = (t % 2 == 0) ? worker_a.get() : worker_b.get();
        threads.emplace_back([store, &mutex, &all] {
            std::int64_t last = 0;
            for (int i = 0; i < kPerThread; ++i) {
                std::int64_t n = store->next_crl_number();
                EXPECT_GT(n, last);  // each caller sees them go up
                last = n;
                std::lock_guard<std::mutex> lock(mutex);
                all.push_back(n);
            }
        });
    }
    for (auto& th : threads) th.join();
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), std::size_t(kThreads * kPerThread));
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], std::int64_t(i + 1));  // no repeats, no gaps
}

TEST_F(StoreTest, SaveAndFetchCrls) {
    auto store = open_sqlite_store(path_, 5000);
    EXPECT_FALSE(store->latest_crl().has_value());
    std::int64_t first = store->next_crl_number();
    std::int64_t second = store->next_crl_number();
    // Saved out of order (two publishers racing): the higher number is latest.
    store->save_crl({second, 2000, 3000, {0x30, 0x02}});
    store->save_crl({first, 1000, 2000, {0x30, 0x01}});
    auto latest = store->latest_crl();
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->number, second);
    EXPECT_EQ(latest->this_update, 2000);
    EXPECT_EQ(latest->next_update, 3000);
    EXPECT_EQ(latest->der, (std::vector<unsigned char>{0x30, 0x02}));
    EXPECT_THROW(store->save_crl({second, 1, 2, {0x30}}), StoreError);
    EXPECT_THROW(store->save_crl({0, 1, 2, {0x30}}), StoreError);
    // A number saved without the counter: the counter moves past it.
    store->save_crl({100, 4000, 5000, {0x30, 0x03}});
    EXPECT_EQ(store->next_crl_number(), 101);
}

TEST_F(StoreTest, OldCrlsArePruned) {
    auto store = open_sqlite_store(path_, 5000);
    for (int i = 0; i < 40; ++i) store->save_crl({store->next_crl_number(), i, i + 1, {0x30}});
    sqlite::Connection conn(path_, 5000);
    EXPECT_EQ(conn.query_text("SELECT COUNT(*) FROM crls"), "32");
    EXPECT_EQ(conn.query_text("SELECT MIN(number) FROM crls"), "9");
    EXPECT_EQ(store->latest_crl()->number, 40);
}

}  // namespace
}  // namespace scepter
