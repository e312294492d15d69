// The embedded store: one SQLite file in WAL mode, shared by every worker
// process. Each process opens its own Store (SQLite handles must not cross a
// fork); within a process a small connection pool serves all threads.
// This file: opening, certificates, transactions. The lifecycle (pending
// requests, revocation, CRLs) is in store_sqlite_lifecycle.cc.
#include "store/sqlite/store_sqlite.h"
#include "store/cert_match.h"
#include "store/store_columns.h"
#include "store/store_keys.h"

#include <sqlite3.h>

#include <cctype>
#include <chrono>
#include <string_view>

namespace scepter {
namespace {

// Writers serialize on SQLite's file lock anyway. More connections per
// process starve the WAL checkpoint under sustained load (measured: the WAL
// grew past 350 MB with 8 per worker, stayed small with 1-2), so two: a
// writer and a reader beside it.
constexpr std::size_t kMaxConnections = 2;
// A worker's background checkpoint: often enough that the WAL stays a few
// MB under full load, rarely enough that an idle worker costs nothing.
constexpr std::chrono::milliseconds kCheckpointEvery{250};

constexpr const char* kCertInsertColumns =
    "serial, subject, sans, sha1, sha256, not_before, not_after, template, profile, "
    "transaction_id, requester_ip, issued_at, status, der, revoked_at, revocation_reason, requester";
// Read back in the same order; the revocation columns are NULL unless revoked.
constexpr const char* kCertSelectColumns = store_columns::kCert;

const std::string kInsertCert =
    std::string("INSERT INTO certificates (") + kCertInsertColumns +
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
// Inside record_issuance, after the challenge is consumed (or, for a parked
// request, was consumed by add_pending): its user is who enrolled.
constexpr const char* kSetRequester =
    "UPDATE certificates SET requester = COALESCE((SELECT user FROM challenges WHERE transaction_id = ?2"
    " AND status = 'consumed' LIMIT 1), requester) WHERE serial = ?1";
const std::string kListCerts = std::string("SELECT ") + kCertSelectColumns +
                               " FROM certificates ORDER BY issued_at DESC, rowid DESC LIMIT ?1";
// A 40-digit serial and a SHA-1 thumbprint look alike: ask for both, prefer
// the serial.
const std::string kFindCert = std::string("SELECT ") + kCertSelectColumns +
                              " FROM certificates WHERE serial = ?1 OR sha1 = ?2 OR sha256 = ?2"
                              " ORDER BY serial = ?1 DESC LIMIT 1";
constexpr const char* kInsertTx =
    "INSERT INTO transactions (transaction_id, updated_at, profile, message_type, status, "
    "fail_info, fail_text, serial, requester_ip, request_sha256) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
constexpr const char* kFindTx =
    "SELECT transaction_id, updated_at, profile, message_type, status, fail_info, fail_text, "
    "serial, requester_ip FROM transactions WHERE transaction_id = ?1 "
    "ORDER BY updated_at DESC, id DESC LIMIT 1";
// The unique index on request_sha256 finds it.
const std::string kFindIssuedRequest =
    std::string("SELECT ") + kCertSelectColumns +
    " FROM certificates WHERE serial = (SELECT serial FROM transactions WHERE request_sha256 = ?1"
    " AND status = 'success' AND request_sha256 IS NOT NULL)";

// find_certs: SQL narrows to unrevoked, unexpired candidates (by a plain
// substring when that is safe), then the exact comparison is made here, on
// one subject CN or one SAN entry, never on a substring of the joined text.
const std::string kCandidateCerts =
    std::string("SELECT ") + kCertSelectColumns +
    " FROM certificates WHERE status <> 'revoked' AND not_after > ?1 AND (?2 = '' OR instr(%COLUMN%, ?2) > 0)"
    " ORDER BY issued_at DESC, rowid DESC";
// Who enrolled: the client's address, or the user (or the admin who asked
// for it) of the one-time challenge the enrollment consumed.
const std::string kCertsByRequester =
    std::string("SELECT ") + kCertSelectColumns +
    " FROM certificates WHERE status <> 'revoked' AND not_after > ?1 AND (requester = ?2 OR requester_ip = ?2"
    " OR transaction_id IN"
    " (SELECT transaction_id FROM challenges WHERE status = 'consumed' AND (user = ?2 OR requester = ?2)))"
    " ORDER BY issued_at DESC, rowid DESC LIMIT ?3";

std::string candidates_on(const char* column) {
    std::string sql = kCandidateCerts;
    sql.replace(sql.find("%COLUMN%"), 8, column);
    return sql;
}


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
    c.revoked_at = st.integer(14);
    c.revocation_reason = int(st.integer(15));
    c.requester = st.text(16);
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

// Only a certificate recorded as revoked carries revocation data; the
// columns stay NULL otherwise, as in rows migrated from version 1.
void bind_revocation(sqlite::Statement& st, const IssuedCert& cert) {
    if (cert.status == "revoked") {
        st.bind(15, cert.revoked_at).bind(16, std::int64_t{cert.revocation_reason});
    } else {
        st.bind_null(15).bind_null(16);
    }
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, const SqliteSettings& settings)
    : path_(path),
      pool_(path, settings.busy_timeout_ms, kMaxConnections,
            {.checkpoints_elsewhere = settings.user == StoreUser::worker,
             .sync_at_checkpoints_only = settings.sync == SqliteSync::normal}) {
    const int busy_timeout_ms = settings.busy_timeout_ms;
    // Only this first set-up may create the file, and only where no store
    // was before; the pool's connections require it to exist.
    check_store_not_lost(path_);
    {
        sqlite::Connection setup(path_, busy_timeout_ms, /*create=*/true);
        prepare_store_file(setup, path_, busy_timeout_ms);
    }
    mark_store_created(path_);
    if (settings.user == StoreUser::worker)
        checkpointer_ = std::make_unique<sqlite::WalCheckpointer>(path_, busy_timeout_ms, kCheckpointEvery);
}

void SqliteStore::insert_cert(sqlite::Connection& conn, const IssuedCert& cert) {
    std::string serial = stored_serial(cert.serial_hex);
    auto st = conn.prepare(kInsertCert.c_str());
    st.bind(1, serial).bind(2, cert.subject).bind(3, cert.sans);
    st.bind(4, stored_thumbprint(cert.sha1_hex, "SHA-1"));
    st.bind(5, stored_thumbprint(cert.sha256_hex, "SHA-256"));
    st.bind(6, cert.not_before).bind(7, cert.not_after).bind(8, cert.template_name);
    st.bind(9, cert.profile).bind(10, cert.transaction_id).bind(11, cert.requester_ip);
    st.bind(12, cert.issued_at).bind(13, cert.status).bind_blob(14, cert.der);
    bind_revocation(st, cert);
    if (cert.requester.empty()) {
        st.bind_null(17);
    } else {
        st.bind(17, cert.requester);
    }
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
    if (tx.request_sha256.empty()) {
        st.bind_null(10);
    } else {
        st.bind(10, tx.request_sha256);
    }
    try {
        st.step();
    } catch (const sqlite::SqliteError& e) {
        // Only the partial index on request_sha256 is unique in this table.
        if (e.code() == SQLITE_CONSTRAINT_UNIQUE)
            throw RequestAlreadyIssued("request " + tx.request_sha256 + " was issued a certificate already");
        throw;
    }
}

// The challenge last: a copy of an issued request is told so
// (RequestAlreadyIssued, answered with its certificate) rather than that its
// challenge is gone.
void SqliteStore::record_issuance(const IssuedCert& cert, const TransactionRecord& tx, const ChallengeUse& challenge) {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    insert_cert(*conn, cert);
    insert_tx(*conn, tx);
    mark_pending_issued(*conn, cert, tx);
    use_challenge(*conn, challenge);
    conn->prepare(kSetRequester).bind(1, stored_serial(cert.serial_hex)).bind(2, tx.transaction_id).step();
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

std::vector<IssuedCert> SqliteStore::find_certs(const CertMatch& match, std::int64_t now, std::size_t limit) {
    std::vector<IssuedCert> out;
    if (match.value.empty() || limit == 0) return out;
    constexpr std::size_t kMax = std::size_t(INT64_MAX);
    auto conn = pool_.acquire();
    if (match.field == CertMatch::Field::requester) {
        auto st = conn->prepare(kCertsByRequester.c_str());
        st.bind(1, now).bind(2, match.value).bind(3, std::int64_t(limit < kMax ? limit : kMax));
        while (st.step()) out.push_back(read_cert(st));
        return out;
    }
    bool by_subject = match.field == CertMatch::Field::subject_cn;
    auto st = conn->prepare(candidates_on(by_subject ? "subject" : "sans").c_str());
    st.bind(1, now).bind(2, narrowing_text(match));
    while (out.size() < limit && st.step()) {
        IssuedCert c = read_cert(st);
        if (cert_matches(match, c)) out.push_back(std::move(c));
    }
    return out;
}

std::optional<TransactionRecord> SqliteStore::find_transaction(const std::string& id) {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kFindTx);
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return read_tx(st);
}

std::optional<IssuedCert> SqliteStore::find_issued_request(const std::string& request_sha256) {
    if (request_sha256.empty()) return std::nullopt;
    auto conn = pool_.acquire();
    auto st = conn->prepare(kFindIssuedRequest.c_str());
    st.bind(1, request_sha256);
    if (!st.step()) return std::nullopt;
    return read_cert(st);
}

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteSettings& settings) {
    return std::make_unique<SqliteStore>(path, settings);
}

}  // namespace scepter
