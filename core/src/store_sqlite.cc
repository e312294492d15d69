// The embedded store: one SQLite file in WAL mode, shared by every worker
// process. Each process opens its own Store (SQLite handles must not cross a
// fork); within a process a small connection pool serves all threads.
#include "scepter/store.h"
#include "sqlite_db.h"
#include "store_keys.h"

#include <sqlite3.h>

#include <chrono>
#include <thread>

namespace scepter {
namespace {

constexpr int kSchemaVersion = 1;
// Writers serialize on SQLite's file lock anyway; a few connections let
// readers (certs list, find_transaction) proceed beside a writer in WAL mode.
constexpr std::size_t kMaxConnections = 8;

// Transactions keep every attempt (a failure, then a successful retry under
// the same transaction ID), so the key is a rowid and (transaction_id,
// updated_at) is an index that finds the latest one.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS certificates (
    serial         TEXT    NOT NULL PRIMARY KEY,  -- upper-case hex, BN_bn2hex form
    subject        TEXT    NOT NULL,
    sans           TEXT    NOT NULL,
    sha1           TEXT    NOT NULL,              -- lower-case hex of the DER
    sha256         TEXT    NOT NULL,
    not_before     INTEGER NOT NULL,              -- unix seconds
    not_after      INTEGER NOT NULL,
    template       TEXT    NOT NULL,
    profile        TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,
    requester_ip   TEXT    NOT NULL,
    issued_at      INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    der            BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS certificates_sha1 ON certificates(sha1);
CREATE INDEX IF NOT EXISTS certificates_sha256 ON certificates(sha256);
CREATE INDEX IF NOT EXISTS certificates_issued_at ON certificates(issued_at);
CREATE TABLE IF NOT EXISTS transactions (
    id             INTEGER PRIMARY KEY,
    transaction_id TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL,
    profile        TEXT    NOT NULL,
    message_type   INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    fail_info      TEXT    NOT NULL,
    fail_text      TEXT    NOT NULL,
    serial         TEXT    REFERENCES certificates(serial),  -- NULL without a certificate
    requester_ip   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_by_id ON transactions(transaction_id, updated_at);
)sql";

constexpr const char* kCertColumns =
    "serial, subject, sans, sha1, sha256, not_before, not_after, template, profile, "
    "transaction_id, requester_ip, issued_at, status, der";

const std::string kInsertCert = std::string("INSERT INTO certificates (") + kCertColumns +
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
const std::string kListCerts = std::string("SELECT ") + kCertColumns +
                               " FROM certificates ORDER BY issued_at DESC, rowid DESC LIMIT ?1";
// A 40-digit serial and a SHA-1 thumbprint look alike: ask for both, prefer
// the serial.
const std::string kFindCert = std::string("SELECT ") + kCertColumns +
                              " FROM certificates WHERE serial = ?1 OR sha1 = ?2 OR sha256 = ?2"
                              " ORDER BY serial = ?1 DESC LIMIT 1";
constexpr const char* kInsertTx =
    "INSERT INTO transactions (transaction_id, updated_at, profile, message_type, status, "
    "fail_info, fail_text, serial, requester_ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
constexpr const char* kFindTx =
    "SELECT transaction_id, updated_at, profile, message_type, status, fail_info, fail_text, "
    "serial, requester_ip FROM transactions WHERE transaction_id = ?1 "
    "ORDER BY updated_at DESC, id DESC LIMIT 1";

IssuedCert read_cert(const sqlite::Statement& st) {
    IssuedCert c;
    c.serial_hex = st.text(0);
    c.subject = st.text(1);
    c.sans = st.text(2);
    c.sha1_hex = st.text(3);
    c.sha256_hex = st.text(4);
    c.not_before = st.integer(5);
    c.not_after = st.integer(6);
    c.template_name = st.text(7);
    c.profile = st.text(8);
    c.transaction_id = st.text(9);
    c.requester_ip = st.text(10);
    c.issued_at = st.integer(11);
    c.status = st.text(12);
    c.der = st.blob(13);
    return c;
}

TransactionRecord read_tx(const sqlite::Statement& st) {
    TransactionRecord t;
    t.transaction_id = st.text(0);
    t.updated_at = st.integer(1);
    t.profile = st.text(2);
    t.message_type = int(st.integer(3));
    t.status = st.text(4);
    t.fail_info = st.text(5);
    t.fail_text = st.text(6);
    t.serial_hex = st.text(7);
    t.requester_ip = st.text(8);
    return t;
}

// Stored keys are canonical so that lookups and the UNIQUE check do not
// depend on how the caller spelled them.
std::string stored_serial(const std::string& serial) {
    auto canonical = canonical_serial(serial);
    if (!canonical) throw StoreError("serial '" + serial + "' is not hex");
    return *canonical;
}

std::string stored_thumbprint(const std::string& hex, const char* which) {
    auto canonical = canonical_thumbprint(hex);
    if (!canonical) throw StoreError(std::string(which) + " thumbprint '" + hex + "' is not hex");
    return *canonical;
}

void ensure_wal(sqlite::Connection& conn, const std::string& path) {
    // Persistent in the file; the first process to open it switches it.
    std::string mode = conn.query_text("PRAGMA journal_mode = WAL");
    if (mode != "wal") {
        throw StoreError(path + ": cannot switch to WAL mode (journal_mode is '" + mode +
                         "'; is the file on a network file system?)");
    }
}

void ensure_schema(sqlite::Connection& conn, const std::string& path) {
    sqlite::WriteTransaction tx(conn);
    conn.exec(kSchema);
    std::string version = conn.query_text("SELECT MAX(version) FROM schema_version");
    if (version.empty()) {
        conn.prepare("INSERT INTO schema_version (version) VALUES (?1)")
            .bind(1, std::int64_t{kSchemaVersion})
            .step();
    } else if (std::stoi(version) > kSchemaVersion) {
        throw StoreError(path + ": store schema version " + version +
                         " is newer than this build understands (" +
                         std::to_string(kSchemaVersion) + ")");
    }
    tx.commit();
}

bool is_busy(const sqlite::SqliteError& e) {
    int primary = e.code() & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Several workers open a new file at the same moment. Switching to WAL and
// creating the schema can then report "locked" at once, without waiting in
// the busy handler (WAL recovery, journal-mode change), so the set-up is
// retried until the busy timeout runs out.
void prepare_file(sqlite::Connection& conn, const std::string& path, int busy_timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
    for (;;) {
        try {
            ensure_wal(conn, path);
            ensure_schema(conn, path);
            return;
        } catch (const sqlite::SqliteError& e) {
            if (!is_busy(e) || std::chrono::steady_clock::now() >= deadline) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

class SqliteStore final : public Store {
   public:
    SqliteStore(const std::string& path, int busy_timeout_ms)
        : path_(path), pool_(path, busy_timeout_ms, kMaxConnections) {
        auto conn = pool_.acquire();
        prepare_file(*conn, path_, busy_timeout_ms);
    }

    void record_issuance(const IssuedCert& cert, const TransactionRecord& tx) override;
    void record_transaction(const TransactionRecord& tx) override;
    std::vector<IssuedCert> list_certs(std::size_t limit) override;
    std::optional<IssuedCert> find_cert(const std::string& serial_or_thumbprint) override;
    std::optional<TransactionRecord> find_transaction(const std::string& id) override;

   private:
    void insert_cert(sqlite::Connection& conn, const IssuedCert& cert);
    void insert_tx(sqlite::Connection& conn, const TransactionRecord& tx);

    const std::string path_;
    sqlite::ConnectionPool pool_;
};

void SqliteStore::insert_cert(sqlite::Connection& conn, const IssuedCert& cert) {
    std::string serial = stored_serial(cert.serial_hex);
    auto st = conn.prepare(kInsertCert.c_str());
    st.bind(1, serial).bind(2, cert.subject).bind(3, cert.sans);
    st.bind(4, stored_thumbprint(cert.sha1_hex, "SHA-1"));
    st.bind(5, stored_thumbprint(cert.sha256_hex, "SHA-256"));
    st.bind(6, cert.not_before).bind(7, cert.not_after).bind(8, cert.template_name);
    st.bind(9, cert.profile).bind(10, cert.transaction_id).bind(11, cert.requester_ip);
    st.bind(12, cert.issued_at).bind(13, cert.status).bind_blob(14, cert.der);
    try {
        st.step();
    } catch (const sqlite::SqliteError& e) {
        if (e.code() == SQLITE_CONSTRAINT_PRIMARYKEY || e.code() == SQLITE_CONSTRAINT_UNIQUE) {
            throw DuplicateSerial("serial " + serial + " is already in the store");
        }
        throw;
    }
}

void SqliteStore::insert_tx(sqlite::Connection& conn, const TransactionRecord& tx) {
    auto st = conn.prepare(kInsertTx);
    st.bind(1, tx.transaction_id).bind(2, tx.updated_at).bind(3, tx.profile);
    st.bind(4, std::int64_t{tx.message_type}).bind(5, tx.status).bind(6, tx.fail_info);
    st.bind(7, tx.fail_text);
    if (tx.serial_hex.empty()) {
        st.bind_null(8);
    } else {
        st.bind(8, stored_serial(tx.serial_hex));
    }
    st.bind(9, tx.requester_ip);
    st.step();
}

void SqliteStore::record_issuance(const IssuedCert& cert, const TransactionRecord& tx) {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    insert_cert(*conn, cert);
    insert_tx(*conn, tx);
    write.commit();
}

void SqliteStore::record_transaction(const TransactionRecord& tx) {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    insert_tx(*conn, tx);
    write.commit();
}

std::vector<IssuedCert> SqliteStore::list_certs(std::size_t limit) {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kListCerts.c_str());
    constexpr std::size_t kMax = std::size_t(INT64_MAX);
    st.bind(1, std::int64_t(limit < kMax ? limit : kMax));
    std::vector<IssuedCert> out;
    while (st.step()) out.push_back(read_cert(st));
    return out;
}

std::optional<IssuedCert> SqliteStore::find_cert(const std::string& serial_or_thumbprint) {
    auto serial = canonical_serial(serial_or_thumbprint);
    auto thumbprint = canonical_thumbprint(serial_or_thumbprint);
    if (!serial || !thumbprint) return std::nullopt;  // not hex: cannot match anything
    auto conn = pool_.acquire();
    auto st = conn->prepare(kFindCert.c_str());
    st.bind(1, *serial).bind(2, *thumbprint);
    if (!st.step()) return std::nullopt;
    return read_cert(st);
}

std::optional<TransactionRecord> SqliteStore::find_transaction(const std::string& id) {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kFindTx);
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return read_tx(st);
}

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, int busy_timeout_ms) {
    return std::make_unique<SqliteStore>(path, busy_timeout_ms);
}

}  // namespace scepter
