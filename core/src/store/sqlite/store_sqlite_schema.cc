// The store's schema, versioned. A new file runs every migration from the
// first, so a fresh file and an upgraded one end up identical; an old file
// runs the ones it lacks. All of it happens in one BEGIN IMMEDIATE
// transaction, so several workers opening an old file at once migrate it
// exactly once and nobody ever sees it half-migrated.
#include "store/sqlite/store_sqlite.h"

#include <sqlite3.h>

#include <chrono>
#include <iterator>
#include <thread>

namespace scepter {
namespace {

// Version 1, unchanged since it shipped (files in the field were made by it).
// Transactions keep every attempt (a failure, then a successful retry under
// the same transaction ID), so the key is a rowid and (transaction_id,
// updated_at) is an index that finds the latest one.
constexpr const char* kSchemaV1 = R"sql(
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

// Version 2: the certificate lifecycle. The new certificate columns are NULL
// unless revoked (ADD COLUMN cannot add NOT NULL without a default, and a
// default would pretend a time). The partial index keeps list_revoked (every
// CRL) cheap however many certificates were issued. crl_counter hands out
// CRL numbers: reserving one is a single UPDATE, so two workers publishing
// at once never get the same number.
constexpr const char* kSchemaV1ToV2 = R"sql(
ALTER TABLE certificates ADD COLUMN revoked_at INTEGER;        -- unix seconds
ALTER TABLE certificates ADD COLUMN revocation_reason INTEGER; -- RFC 5280 CRLReason code
CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE status = 'revoked';
CREATE TABLE pending_requests (
    transaction_id TEXT    NOT NULL PRIMARY KEY,
    profile        TEXT    NOT NULL,
    template       TEXT    NOT NULL,
    message_type   INTEGER NOT NULL,
    subject        TEXT    NOT NULL,
    requester_ip   TEXT    NOT NULL,
    status         TEXT    NOT NULL
                   CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    reason         TEXT    NOT NULL,              -- the admin's words
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    serial         TEXT    REFERENCES certificates(serial),  -- once issued
    csr            BLOB    NOT NULL,              -- PKCS#10 DER
    signer         BLOB    NOT NULL               -- the requester's signer certificate, DER
);
CREATE INDEX pending_requests_by_status ON pending_requests(status, created_at);
CREATE INDEX pending_requests_by_created ON pending_requests(created_at);
CREATE TABLE crls (
    number         INTEGER NOT NULL PRIMARY KEY,
    this_update    INTEGER NOT NULL,
    next_update    INTEGER NOT NULL,
    der            BLOB    NOT NULL
);
CREATE TABLE crl_counter (
    only_row       INTEGER NOT NULL PRIMARY KEY CHECK (only_row = 1),
    last_number    INTEGER NOT NULL
);
INSERT INTO crl_counter (only_row, last_number) VALUES (1, 0);
)sql";

// Version 3: one-time challenges (NDES's mscep_admin passwords). Only the
// SHA-256 of a challenge is kept; its public ID is the key. The index serves
// add_challenge's quota count (a requester's active, unexpired rows) inside
// its BEGIN IMMEDIATE. The consuming transaction is NULL until consumed.
constexpr const char* kSchemaV2ToV3 = R"sql(
CREATE TABLE challenges (
    id             TEXT    NOT NULL PRIMARY KEY,  -- the challenge's first characters
    secret_sha256  TEXT    NOT NULL,              -- lower-case hex of the whole challenge
    profile        TEXT    NOT NULL,
    user           TEXT    NOT NULL,              -- whom it was issued for
    requester      TEXT    NOT NULL,              -- who asked: the quota counts per requester
    created_at     INTEGER NOT NULL,              -- unix seconds
    expires_at     INTEGER NOT NULL,
    claims_json    TEXT    NOT NULL,              -- what the CSR must match
    status         TEXT    NOT NULL CHECK (status IN ('active', 'consumed')),
    transaction_id TEXT,                          -- the enrollment that consumed it
    consumed_at    INTEGER
);
CREATE INDEX challenges_by_requester ON challenges(requester, status, expires_at);
)sql";

// Version 4: replay protection. A PKCSReq or RenewalReq issued directly
// records its fingerprint; the partial UNIQUE index lets one fingerprint
// succeed once, so two copies of one request racing in two workers cannot
// both store a certificate (the second insert rolls its issuance back).
// Rows from before stay NULL: they guard nothing, as before.
constexpr const char* kSchemaV3ToV4 = R"sql(
ALTER TABLE transactions ADD COLUMN request_sha256 TEXT;  -- lower-case hex, or NULL
CREATE UNIQUE INDEX transactions_one_issuance_per_request ON transactions(request_sha256)
    WHERE status = 'success' AND request_sha256 IS NOT NULL;
)sql";

// Version 5: who enrolled, kept with the certificate (bulk revocation by
// requester): the user of the one-time challenge the enrollment consumed,
// NULL when none. The challenge rows are purged a day after they expire, so
// the certificate keeps its own copy; rows from before take it from the
// challenges still there.
constexpr const char* kSchemaV4ToV5 = R"sql(
ALTER TABLE certificates ADD COLUMN requester TEXT;
UPDATE certificates SET requester = (SELECT c.user FROM challenges c
    WHERE c.transaction_id = certificates.transaction_id AND c.status = 'consumed' LIMIT 1);
CREATE INDEX certificates_by_requester ON certificates(requester) WHERE requester IS NOT NULL;
)sql";

// kMigrations[i] takes a file from version i to version i + 1.
constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV1ToV2, kSchemaV2ToV3, kSchemaV3ToV4, kSchemaV4ToV5};
static_assert(std::size(kMigrations) == std::size_t(kStoreSchemaVersion),
              "one migration per schema version");

void ensure_wal(sqlite::Connection& conn, const std::string& path) {
    // Persistent in the file; the first process to open it switches it.
    std::string mode = conn.query_text("PRAGMA journal_mode = WAL");
    if (mode != "wal") {
        throw StoreError(path + ": cannot switch to WAL mode (journal_mode is '" + mode +
                         "'; is the file on a network file system?)");
    }
}

// 0 for a new file (no version row yet).
int current_version(sqlite::Connection& conn) {
    conn.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    std::string version = conn.query_text("SELECT MAX(version) FROM schema_version");
    return version.empty() ? 0 : std::stoi(version);
}

void record_version(sqlite::Connection& conn, int from_version) {
    const char* sql = from_version == 0 ? "INSERT INTO schema_version (version) VALUES (?1)"
                                        : "UPDATE schema_version SET version = ?1";
    conn.prepare(sql).bind(1, std::int64_t{kStoreSchemaVersion}).step();
}

void ensure_schema(sqlite::Connection& conn, const std::string& path) {
    sqlite::WriteTransaction tx(conn);
    int version = current_version(conn);
    if (version > kStoreSchemaVersion) {
        throw StoreError(path + ": store schema version " + std::to_string(version) +
                         " is newer than this build understands (" +
                         std::to_string(kStoreSchemaVersion) + ")");
    }
    if (version == kStoreSchemaVersion) return;  // the usual case: nothing to write
    for (int step = version; step < kStoreSchemaVersion; ++step) conn.exec(kMigrations[step]);
    record_version(conn, version);
    tx.commit();
}

bool is_busy(const sqlite::SqliteError& e) {
    int primary = e.code() & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

}  // namespace

// Several workers open a new file at the same moment. Switching to WAL and
// creating the schema can then report "locked" at once, without waiting in
// the busy handler (WAL recovery, journal-mode change), so the set-up is
// retried until the busy timeout runs out.
void prepare_store_file(sqlite::Connection& conn, const std::string& path, int busy_timeout_ms) {
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

}  // namespace scepter
