// The store's schema versions: a file written by the version-1 release is
// migrated in place, once, keeping its rows; a fresh file ends up with the
// same schema; a newer file is refused.
#include "scepter/store.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/store_sqlite.h"
#include "store_fixture.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace scepter {
namespace {

using namespace store_test;

// What version 1 of store_sqlite.cc created (same columns and indexes;
// compact layout), with one certificate and its transaction.
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE certificates (
    serial TEXT NOT NULL PRIMARY KEY, subject TEXT NOT NULL, sans TEXT NOT NULL,
    sha1 TEXT NOT NULL, sha256 TEXT NOT NULL, not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL, template TEXT NOT NULL, profile TEXT NOT NULL,
    transaction_id TEXT NOT NULL, requester_ip TEXT NOT NULL, issued_at INTEGER NOT NULL,
    status TEXT NOT NULL, der BLOB NOT NULL);
CREATE INDEX certificates_sha1 ON certificates(sha1);
CREATE INDEX certificates_sha256 ON certificates(sha256);
CREATE INDEX certificates_issued_at ON certificates(issued_at);
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY, transaction_id TEXT NOT NULL, updated_at INTEGER NOT NULL,
    profile TEXT NOT NULL, message_type INTEGER NOT NULL, status TEXT NOT NULL,
    fail_info TEXT NOT NULL, fail_text TEXT NOT NULL,
    serial TEXT REFERENCES certificates(serial), requester_ip TEXT NOT NULL);
CREATE INDEX transactions_by_id ON transactions(transaction_id, updated_at);
INSERT INTO schema_version (version) VALUES (1);
INSERT INTO certificates VALUES ('7F01', 'CN=old,O=Example', 'DNS:old.example.com',
    'aaaa', 'bbbb', 1600000000, 1700000000, 'general_purpose', 'default', 'tx-old',
    '192.0.2.1', 1600000000, 'issued', X'3082');
INSERT INTO transactions (transaction_id, updated_at, profile, message_type, status,
    fail_info, fail_text, serial, requester_ip)
    VALUES ('tx-old', 1600000000, 'default', 19, 'success', '', '', '7F01', '192.0.2.1');
)sql";

void write_version1_file(const std::string& path) {
    sqlite::Connection conn(path, 5000, /*create=*/true);
    conn.exec("PRAGMA journal_mode = WAL");
    conn.exec(kVersion1Schema);
}

std::set<std::string> columns(sqlite::Connection& conn, const char* table) {
    std::set<std::string> out;
    auto st = conn.prepare((std::string("SELECT name FROM pragma_table_info('") + table + "')").c_str());
    while (st.step()) out.insert(st.text(0));
    return out;
}

// Every table's columns and every index's columns, in name order: what
// "same schema" means (the SQL text differs in layout and comments).
std::string schema_dump(const std::string& path) {
    sqlite::Connection conn(path, 5000);
    auto tables = conn.prepare(
        "SELECT m.name, p.name, p.type, p.\"notnull\", COALESCE(p.dflt_value, ''), p.pk "
        "FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' "
        "ORDER BY m.name, p.cid");
    std::string out;
    while (tables.step()) {
        for (int i = 0; i < 6; ++i) out += tables.text(i) + (i < 5 ? " " : "\n");
    }
    auto indexes = conn.prepare(
        "SELECT m.name, m.tbl_name, i.name, l.partial FROM sqlite_master m "
        "JOIN pragma_index_info(m.name) i JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name "
        "WHERE m.type = 'index' ORDER BY m.name, i.seqno");
    while (indexes.step()) {
        for (int i = 0; i < 4; ++i) out += indexes.text(i) + (i < 3 ? " " : "\n");
    }
    return out;
}

TEST_F(StoreTest, MigratesAVersion1File) {
    write_version1_file(path_);
    auto store = open_sqlite_store(path_, 5000);

    sqlite::Connection conn(path_, 5000);
    EXPECT_EQ(conn.query_text("SELECT MAX(version) FROM schema_version"), std::to_string(kStoreSchemaVersion));
    EXPECT_EQ(conn.query_text("SELECT COUNT(*) FROM schema_version"), "1");
    auto cert_columns = columns(conn, "certificates");
    EXPECT_EQ(cert_columns.count("revoked_at"), 1u);
    EXPECT_EQ(cert_columns.count("revocation_reason"), 1u);
    EXPECT_EQ(columns(conn, "pending_requests").count("csr"), 1u);
    EXPECT_EQ(columns(conn, "pending_requests").count("signer"), 1u);
    EXPECT_EQ(columns(conn, "crls").count("der"), 1u);

    // The old rows survive and read as never revoked.
    auto old = store->find_cert("7f:01");
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(old->subject, "CN=old,O=Example");
    EXPECT_EQ(old->status, "issued");
    EXPECT_EQ(old->revoked_at, 0);
    EXPECT_EQ(old->revocation_reason, -1);
    EXPECT_EQ(old->der, (std::vector<unsigned char>{0x30, 0x82}));
    EXPECT_EQ(store->find_transaction("tx-old")->serial_hex, "7F01");

    // And the new features work on them.
    EXPECT_TRUE(store->revoke("7F01", 5, 1650000000));
    EXPECT_EQ(store->list_revoked().size(), 1u);
    EXPECT_EQ(store->next_crl_number(), 1);
    PendingRequest req;
    req.transaction_id = "tx-new";
    EXPECT_TRUE(store->add_pending(req));
}

TEST_F(StoreTest, MigrationRunsOnceAndReopeningKeepsEverything) {
    write_version1_file(path_);
    open_sqlite_store(path_, 5000)->revoke("7F01", 1, 10);
    auto reopened = open_sqlite_store(path_, 5000);  // ALTER TABLE twice would throw
    EXPECT_EQ(reopened->find_cert("7F01")->status, "revoked");
    EXPECT_EQ(reopened->list_certs(10).size(), 1u);
}

TEST_F(StoreTest, FreshAndMigratedFilesHaveTheSameSchema) {
    write_version1_file(path_);
    open_sqlite_store(path_, 5000);
    std::string fresh_path = (dir_ / "fresh.db").string();
    open_sqlite_store(fresh_path, 5000);
    EXPECT_EQ(schema_dump(path_), schema_dump(fresh_path));
}

TEST_F(StoreTest, WorkersOpeningAVersion1FileTogetherMigrateItOnce) {
    write_version1_file(path_);
    constexpr int kWorkers = 6;
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int i = 0; i < kWorkers; ++i) {
        workers.emplace_back([this, &failures] {
            try {
                auto store = open_sqlite_store(path_, 10000);
                if (!store->find_cert("7F01")) ++failures;
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
                ++failures;
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(failures.load(), 0);
    sqlite::Connection conn(path_, 5000);
    EXPECT_EQ(conn.query_text("SELECT COUNT(*) FROM crl_counter"), "1");
}

TEST_F(StoreTest, RefusesANewerSchema) {
    open_sqlite_store(path_, 5000);
    {
        sqlite::Connection conn(path_, 5000);
        conn.exec("UPDATE schema_version SET version = 99");
    }
    EXPECT_THROW(open_sqlite_store(path_, 5000), StoreError);
}

}  // namespace
}  // namespace scepter
