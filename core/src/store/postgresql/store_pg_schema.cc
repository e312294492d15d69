// The PostgreSQL store's schema, versioned like the SQLite one. Every node
// that connects first takes one advisory transaction lock, then reads the
// version and runs the migrations it lacks, all in one transaction
// (PostgreSQL's DDL is transactional): nodes starting at the same moment
// migrate exactly once, and nobody sees the schema half-made.
#include "store/postgresql/store_pg.h"

#include <iterator>

namespace scepter {
namespace {

// The advisory lock's key: any constant no other user of the database takes.
constexpr const char* kLockSchema = "SELECT pg_advisory_xact_lock(5343455054)";  // "SCEPT"

// Version 1: the logical tables of SQLite's version 5. BIGINT for unix
// seconds, BYTEA for DER. `seq` keeps insertion order where SQLite uses its
// rowid. The challenge's user is `user_name` (USER is reserved here).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE certificates (
    serial            TEXT    NOT NULL PRIMARY KEY,  -- upper-case hex, BN_bn2hex form
    seq               BIGINT  GENERATED ALWAYS AS IDENTITY,
    subject           TEXT    NOT NULL,
    sans              TEXT    NOT NULL,
    sha1              TEXT    NOT NULL,              -- lower-case hex of the DER
    sha256            TEXT    NOT NULL,
    not_before        BIGINT  NOT NULL,              -- unix seconds
    not_after         BIGINT  NOT NULL,
    template          TEXT    NOT NULL,
    profile           TEXT    NOT NULL,
    transaction_id    TEXT    NOT NULL,
    requester_ip      TEXT    NOT NULL,
    issued_at         BIGINT  NOT NULL,
    status            TEXT    NOT NULL,
    der               BYTEA   NOT NULL,
    revoked_at        BIGINT,                        -- NULL unless revoked
    revocation_reason INTEGER,
    requester         TEXT                           -- the consumed challenge's user
);
CREATE INDEX certificates_sha1 ON certificates(sha1);
CREATE INDEX certificates_sha256 ON certificates(sha256);
CREATE INDEX certificates_issued_at ON certificates(issued_at);
CREATE INDEX certificates_revoked ON certificates(revoked_at) WHERE status = 'revoked';
CREATE INDEX certificates_by_requester ON certificates(requester) WHERE requester IS NOT NULL;
CREATE TABLE transactions (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id TEXT    NOT NULL,
    updated_at     BIGINT  NOT NULL,
    profile        TEXT    NOT NULL,
    message_type   INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    fail_info      TEXT    NOT NULL,
    fail_text      TEXT    NOT NULL,
    serial         TEXT    REFERENCES certificates(serial),
    requester_ip   TEXT    NOT NULL,
    request_sha256 TEXT
);
CREATE INDEX transactions_by_id ON transactions(transaction_id, updated_at);
CREATE UNIQUE INDEX transactions_one_issuance_per_request ON transactions(request_sha256)
    WHERE status = 'success' AND request_sha256 IS NOT NULL;
CREATE TABLE pending_requests (
    transaction_id TEXT    NOT NULL PRIMARY KEY,
    seq            BIGINT  GENERATED ALWAYS AS IDENTITY,
    profile        TEXT    NOT NULL,
    template       TEXT    NOT NULL,
    message_type   INTEGER NOT NULL,
    subject        TEXT    NOT NULL,
    requester_ip   TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'issued')),
    reason         TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    serial         TEXT    REFERENCES certificates(serial),
    csr            BYTEA   NOT NULL,
    signer         BYTEA   NOT NULL
);
CREATE INDEX pending_requests_by_status ON pending_requests(status, created_at);
CREATE INDEX pending_requests_by_created ON pending_requests(created_at);
CREATE TABLE crls (
    number         BIGINT  NOT NULL PRIMARY KEY,
    this_update    BIGINT  NOT NULL,
    next_update    BIGINT  NOT NULL,
    der            BYTEA   NOT NULL
);
CREATE TABLE crl_counter (
    only_row       INTEGER NOT NULL PRIMARY KEY CHECK (only_row = 1),
    last_number    BIGINT  NOT NULL
);
INSERT INTO crl_counter (only_row, last_number) VALUES (1, 0);
CREATE TABLE challenges (
    id             TEXT    NOT NULL PRIMARY KEY,
    secret_sha256  TEXT    NOT NULL,              -- only the hash of the challenge is kept
    profile        TEXT    NOT NULL,
    user_name      TEXT    NOT NULL,
    requester      TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    claims_json    TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('active', 'consumed')),
    transaction_id TEXT,
    consumed_at    BIGINT
);
CREATE INDEX challenges_by_requester ON challenges(requester, status, expires_at);
CREATE INDEX challenges_by_transaction ON challenges(transaction_id) WHERE transaction_id IS NOT NULL;
)sql";

// kMigrations[i] takes a database from version i to version i + 1.
constexpr const char* kMigrations[] = {kSchemaV1};
static_assert(std::size(kMigrations) == std::size_t(kPgSchemaVersion), "one migration per schema version");

}  // namespace

void prepare_pg_schema(pg::Connection& conn) {
    pg::Transaction tx(conn);
    conn.run(kLockSchema);
    conn.run("CREATE TABLE IF NOT EXISTS scepter_schema_version (version INTEGER NOT NULL)");
    auto r = conn.exec("SELECT MAX(version) FROM scepter_schema_version");
    int version = int(r.integer(0, 0));
    if (version > kPgSchemaVersion) {
        throw StoreError("store.postgresql: the database's schema version " + std::to_string(version) +
                         " is newer than this build understands (" + std::to_string(kPgSchemaVersion) +
                         "); upgrade Scepter on this node");
    }
    if (version == kPgSchemaVersion) return;  // the usual case; the lock ends with the transaction
    for (int step = version; step < kPgSchemaVersion; ++step) conn.run(kMigrations[step]);
    conn.run(version == 0 ? "INSERT INTO scepter_schema_version (version) VALUES (" + std::to_string(kPgSchemaVersion) + ")"
                          : "UPDATE scepter_schema_version SET version = " + std::to_string(kPgSchemaVersion));
    tx.commit();
}

}  // namespace scepter
