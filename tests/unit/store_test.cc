// The SQLite store: round trips, duplicate serials, lookups, and several
// Store objects (standing in for nginx worker processes) writing one file.
// The lifecycle (pending, revocation, CRLs) and migrations have their own
// files.
#include "scepter/store.h"
#include "store/store_keys.h"
#include "store_fixture.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

namespace scepter {
namespace {

using namespace store_test;

TEST(StoreKeys, CanonicalSerial) {
    EXPECT_EQ(canonical_serial("0a:1b").value(), "0A1B");
    EXPECT_EQ(canonical_serial("000A1B").value(), "0A1B");
    EXPECT_EQ(canonical_serial("a").value(), "0A");
    EXPECT_EQ(canonical_serial("7fAB").value(), "7FAB");
    EXPECT_FALSE(canonical_serial("xyz").has_value());
    EXPECT_FALSE(canonical_serial("").has_value());
    EXPECT_FALSE(canonical_serial(":").has_value());
}

TEST(StoreKeys, CanonicalThumbprint) {
    EXPECT_EQ(canonical_thumbprint("AB:cd:0F").value(), "abcd0f");
    EXPECT_EQ(canonical_thumbprint("ab cd").value(), "abcd");
    EXPECT_FALSE(canonical_thumbprint("ab-cd").has_value());
}

TEST_F(StoreTest, RoundTripAndSchema) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert cert = make_cert(1);
    store->record_issuance(cert, make_tx(cert));

    auto listed = store->list_certs(10);
    ASSERT_EQ(listed.size(), 1u);
    expect_same(listed[0], cert);

    auto tx = store->find_transaction(cert.transaction_id);
    ASSERT_TRUE(tx.has_value());
    EXPECT_EQ(tx->status, "success");
    EXPECT_EQ(tx->serial_hex, cert.serial_hex);
    EXPECT_EQ(tx->message_type, 19);
    EXPECT_FALSE(store->find_transaction("nope").has_value());

    // Reopening an existing file keeps its rows (the schema is not recreated).
    store.reset();
    auto again = open_sqlite_store(path_, 5000);
    EXPECT_EQ(again->list_certs(10).size(), 1u);
}

TEST_F(StoreTest, DuplicateSerialLeavesNothingHalfWritten) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert first = make_cert(1);
    store->record_issuance(first, make_tx(first));

    IssuedCert clash = make_cert(2);
    clash.serial_hex = first.serial_hex;
    // Spelled differently: still the same serial.
    for (char& ch : clash.serial_hex) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_THROW(store->record_issuance(clash, make_tx(clash)), DuplicateSerial);
    // The transaction of the failed issuance was rolled back with it.
    EXPECT_FALSE(store->find_transaction(clash.transaction_id).has_value());
    EXPECT_EQ(store->list_certs(10).size(), 1u);
}

TEST_F(StoreTest, FailedTransactionInsertRollsBackTheCertificate) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert cert = make_cert(3);
    TransactionRecord tx = make_tx(cert);
    tx.serial_hex = "zz";  // not hex: the second insert of the pair fails
    EXPECT_THROW(store->record_issuance(cert, tx), StoreError);
    EXPECT_FALSE(store->find_cert(cert.serial_hex).has_value());
}

// Replay protection in the database itself: one successful issuance per
// request fingerprint, whichever process stores it first; a renewal (another
// fingerprint) under the same transaction ID is not held back.
TEST_F(StoreTest, OneIssuancePerRequestFingerprint) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert first = make_cert(11);
    TransactionRecord tx = make_tx(first);
    tx.request_sha256 = std::string(64, 'a');
    EXPECT_FALSE(store->find_issued_request(tx.request_sha256).has_value());
    store->record_issuance(first, tx);
    auto found = store->find_issued_request(tx.request_sha256);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->serial_hex, first.serial_hex);
    EXPECT_FALSE(store->find_issued_request("").has_value());

    IssuedCert copy = make_cert(12);
    copy.transaction_id = first.transaction_id;
    TransactionRecord copy_tx = make_tx(copy);
    copy_tx.request_sha256 = tx.request_sha256;
    EXPECT_THROW(store->record_issuance(copy, copy_tx), RequestAlreadyIssued);
    EXPECT_FALSE(store->find_cert(copy.serial_hex).has_value()) << "the second certificate was rolled back";

    IssuedCert renewed = make_cert(13);
    renewed.transaction_id = first.transaction_id;
    TransactionRecord renewal_tx = make_tx(renewed);
    renewal_tx.message_type = 17;
    renewal_tx.request_sha256 = std::string(64, 'b');
    store->record_issuance(renewed, renewal_tx);
    EXPECT_TRUE(store->find_cert(renewed.serial_hex).has_value());

    // failures and approved pending requests carry no fingerprint: never held back
    IssuedCert approved = make_cert(14);
    store->record_issuance(approved, make_tx(approved));
    IssuedCert approved_again = make_cert(15);
    store->record_issuance(approved_again, make_tx(approved_again));
    EXPECT_EQ(store->list_certs(10).size(), 4u);
}

TEST_F(StoreTest, TransactionWithoutCertificate) {
    auto store = open_sqlite_store(path_, 5000);
    TransactionRecord t;
    t.transaction_id = "failed-1";
    t.profile = "default";
    t.message_type = 19;
    t.status = "failure";
    t.fail_info = "badRequest";
    t.fail_text = "challenge password wrong";
    t.updated_at = 10;
    store->record_transaction(t);
    t.status = "pending";
    t.fail_info.clear();
    t.updated_at = 20;
    store->record_transaction(t);  // same ID again: history, latest wins
    auto found = store->find_transaction("failed-1");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->status, "pending");
    EXPECT_EQ(found->serial_hex, "");
}

TEST_F(StoreTest, FindBySerialAndThumbprints) {
    auto store = open_sqlite_store(path_, 5000);
    IssuedCert cert = make_cert(0xabc);
    store->record_issuance(cert, make_tx(cert));
    IssuedCert other = make_cert(0xdef);
    store->record_issuance(other, make_tx(other));

    auto colons = [](const std::string& hex) {
        std::string out;
        for (std::size_t i = 0; i < hex.size(); i += 2) out += (i ? ":" : "") + hex.substr(i, 2);
        return out;
    };
    auto lower = [](std::string s) {
        for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        return s;
    };
    auto upper = [](std::string s) {
        for (char& ch : s) ch = char(std::toupper(static_cast<unsigned char>(ch)));
        return s;
    };
    for (const std::string& key :
         {cert.serial_hex, lower(cert.serial_hex), colons(lower(cert.serial_hex)),
          "00" + cert.serial_hex, cert.sha1_hex, upper(colons(cert.sha1_hex)), cert.sha256_hex,
          upper(cert.sha256_hex), colons(cert.sha256_hex)}) {
        auto found = store->find_cert(key);
        ASSERT_TRUE(found.has_value()) << key;
        expect_same(*found, cert);
    }
    EXPECT_FALSE(store->find_cert("not-hex").has_value());
    EXPECT_FALSE(store->find_cert("").has_value());
    EXPECT_FALSE(store->find_cert("0123456789").has_value());
}

TEST_F(StoreTest, ListIsNewestFirstAndLimited) {
    auto store = open_sqlite_store(path_, 5000);
    for (int i = 0; i < 5; ++i) {
        IssuedCert c = make_cert(i);
        store->record_issuance(c, make_tx(c));
    }
    auto listed = store->list_certs(3);
    ASSERT_EQ(listed.size(), 3u);
    EXPECT_EQ(listed[0].transaction_id, "tx-4");
    EXPECT_EQ(listed[2].transaction_id, "tx-2");
}

TEST_F(StoreTest, TwoProcessesManyThreadsOneFile) {
    // Two Store objects have separate connection pools, as two nginx workers
    // would; each is hammered by several threads at once.
    auto worker_a = open_sqlite_store(path_, 10000);
    auto worker_b = open_sqlite_store(path_, 10000);
    constexpr int kThreads = 8;
    constexpr int kRows = 500;
    std::atomic<int> next{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        Store* store = (t % 2 == 0) ? worker_a.get() : worker_b.get();
        threads.emplace_back([store, &next, &errors] {
            for (int n = next++; n < kRows; n = next++) {
                try {
                    IssuedCert c = make_cert(n);
                    store->record_issuance(c, make_tx(c));
                    if (!store->find_cert(c.sha256_hex)) ++errors;
                } catch (const std::exception& e) {
                    ADD_FAILURE() << "row " << n << ": " << e.what();
                    ++errors;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);

    auto all = worker_a->list_certs(kRows + 10);
    ASSERT_EQ(all.size(), std::size_t(kRows));
    std::set<std::string> serials;
    for (const auto& c : all) serials.insert(c.serial_hex);
    EXPECT_EQ(serials.size(), std::size_t(kRows));
    for (int n = 0; n < kRows; ++n) {
        EXPECT_TRUE(worker_b->find_transaction("tx-" + std::to_string(n)).has_value()) << n;
    }
}

// Real processes this time: a forked child writes through its own Store
// while the parent writes through another.
TEST_F(StoreTest, ForkedProcessesWriteOneFile) {
    constexpr int kPerProcess = 250;
    auto insert_range = [this](int from, int to) {
        auto store = open_sqlite_store(path_, 10000);
        std::vector<std::thread> threads;
        std::atomic<int> next{from};
        std::atomic<int> failures{0};
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&] {
                for (int n = next++; n < to; n = next++) {
                    try {
                        IssuedCert c = make_cert(n);
                        store->record_issuance(c, make_tx(c));
                    } catch (const std::exception&) {
                        ++failures;
                    }
                }
            });
        }
        for (auto& th : threads) th.join();
        return failures.load();
    };
    // Create the file first so both processes find the schema in place.
    open_sqlite_store(path_, 10000);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) _exit(insert_range(0, kPerProcess) == 0 ? 0 : 1);
    EXPECT_EQ(insert_range(kPerProcess, 2 * kPerProcess), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(open_sqlite_store(path_, 10000)->list_certs(1000).size(), std::size_t(2 * kPerProcess));
}

TEST_F(StoreTest, UnopenablePathThrowsStoreError) {
    EXPECT_THROW(open_sqlite_store((dir_ / "missing" / "x.db").string(), 100), StoreError);
}

}  // namespace
}  // namespace scepter
