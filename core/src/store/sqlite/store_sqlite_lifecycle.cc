// The SQLite store's certificate lifecycle: requests waiting for an admin
// (RFC 8894 PENDING / CertPoll), revocation, and the CRLs signed from it.
// Every state change is one conditional UPDATE inside BEGIN IMMEDIATE, so
// two admins (or an admin and a worker) racing on the same row cannot both
// win: the loser's UPDATE matches no row and it is told so.
#include "store/sqlite/store_sqlite.h"
#include "store/store_columns.h"
#include "store/store_keys.h"

#include <sqlite3.h>

namespace scepter {
namespace {

// Old CRLs are only history (every reader wants the latest); a few are kept
// for looking back, not all of them: a busy CA publishes one per revocation.
constexpr std::int64_t kCrlsKept = 32;

constexpr const char* kPendingColumns = store_columns::kPending;

const std::string kInsertPending =
    std::string("INSERT INTO pending_requests (") + kPendingColumns +
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
const std::string kFindPending =
    std::string("SELECT ") + kPendingColumns + " FROM pending_requests WHERE transaction_id = ?1";
// Two statements rather than "(?1 = '' OR status = ?1)": that would keep the
// planner from the status index, and pending rows are few among many issued.
const std::string kListPendingByStatus =
    std::string("SELECT ") + kPendingColumns +
    " FROM pending_requests WHERE status = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2";
const std::string kListPendingAll = std::string("SELECT ") + kPendingColumns +
                                    " FROM pending_requests ORDER BY created_at DESC, rowid DESC LIMIT ?1";
constexpr const char* kDecidePending =
    "UPDATE pending_requests SET status = ?2, reason = ?3, updated_at = ?4 "
    "WHERE transaction_id = ?1 AND status = 'pending'";
// Denied and issued are final: an issuance under a denied request's ID does
// not rewrite the admin's decision (the certificate row is the truth).
constexpr const char* kPendingStatus = "SELECT status FROM pending_requests WHERE transaction_id = ?1";
constexpr const char* kMarkPendingIssued =
    "UPDATE pending_requests SET status = 'issued', serial = ?2, updated_at = ?3 "
    "WHERE transaction_id = ?1 AND status IN ('pending', 'approved')";

constexpr const char* kRevoke =
    "UPDATE certificates SET status = 'revoked', revoked_at = ?2, revocation_reason = ?3 "
    "WHERE serial = ?1 AND status <> 'revoked'";
// Counted on the partial index certificates_revoked: the table is not read.
constexpr const char* kCountRevoked = "SELECT count(*) FROM certificates WHERE status = 'revoked'";
constexpr const char* kListRevoked =
    "SELECT serial, revoked_at, revocation_reason FROM certificates "
    "WHERE status = 'revoked' ORDER BY revoked_at, serial";

// Also past any CRL saved under a number this counter never handed out, so
// the sequence can only go up whatever was written to the table.
constexpr const char* kReserveCrlNumber =
    "UPDATE crl_counter SET last_number = "
    "MAX(last_number, (SELECT COALESCE(MAX(number), 0) FROM crls)) + 1 WHERE only_row = 1";
constexpr const char* kReadCrlNumber = "SELECT last_number FROM crl_counter WHERE only_row = 1";
constexpr const char* kInsertCrl =
    "INSERT INTO crls (number, this_update, next_update, der) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kPruneCrls =
    "DELETE FROM crls WHERE number NOT IN (SELECT number FROM crls ORDER BY number DESC LIMIT ?1)";
constexpr const char* kLatestCrl =
    "SELECT number, this_update, next_update, der FROM crls ORDER BY number DESC LIMIT 1";

PendingRequest read_pending(const sqlite::Statement& st) {
    PendingRequest r;
    r.transaction_id = st.text(0);
    r.profile = st.text(1);
    r.template_name = st.text(2);
    r.message_type = int(st.integer(3));
    r.subject = st.text(4);
    r.requester_ip = st.text(5);
    r.status = st.text(6);
    r.reason = st.text(7);
    r.created_at = st.integer(8);
    r.updated_at = st.integer(9);
    r.serial_hex = st.text(10);
    r.csr_der = st.blob(11);
    r.signer_der = st.blob(12);
    return r;
}

void bind_pending(sqlite::Statement& st, const PendingRequest& r) {
    st.bind(1, r.transaction_id).bind(2, r.profile).bind(3, r.template_name);
    st.bind(4, std::int64_t{r.message_type}).bind(5, r.subject).bind(6, r.requester_ip);
    st.bind(7, r.status).bind(8, r.reason).bind(9, r.created_at).bind(10, r.updated_at);
    if (r.serial_hex.empty()) {
        st.bind_null(11);
    } else {
        st.bind(11, stored_serial(r.serial_hex));
    }
    st.bind_blob(12, r.csr_der).bind_blob(13, r.signer_der);
}

std::int64_t sql_limit(std::size_t limit) {
    constexpr std::size_t kMax = std::size_t(INT64_MAX);
    return std::int64_t(limit < kMax ? limit : kMax);
}

// RFC 5280 CRLReason: 0..10 without the unused 7. removeFromCRL (8) belongs
// to delta CRLs, which unrevoke; it is no reason to revoke.
bool is_revocation_reason(int reason) { return reason >= 0 && reason <= 10 && reason != 7 && reason != 8; }

}  // namespace

// ---- pending requests ----

bool SqliteStore::add_pending(const PendingRequest& req, const ChallengeUse& challenge) {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    {
        auto st = conn->prepare(kInsertPending.c_str());
        bind_pending(st, req);
        try {
            st.step();
        } catch (const sqlite::SqliteError& e) {
            if (e.code() == SQLITE_CONSTRAINT_PRIMARYKEY) return false;  // rolled back by `write`
            throw;
        }
    }
    use_challenge(*conn, challenge);
    write.commit();
    return true;
}

std::optional<PendingRequest> SqliteStore::find_pending(const std::string& transaction_id) {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kFindPending.c_str());
    st.bind(1, transaction_id);
    if (!st.step()) return std::nullopt;
    return read_pending(st);
}

std::vector<PendingRequest> SqliteStore::list_pending(const std::string& status, std::size_t limit) {
    auto conn = pool_.acquire();
    auto st = conn->prepare(status.empty() ? kListPendingAll.c_str() : kListPendingByStatus.c_str());
    if (status.empty()) {
        st.bind(1, sql_limit(limit));
    } else {
        st.bind(1, status).bind(2, sql_limit(limit));
    }
    std::vector<PendingRequest> out;
    while (st.step()) out.push_back(read_pending(st));
    return out;
}

std::int64_t SqliteStore::count_pending() {
    auto conn = pool_.acquire();
    auto st = conn->prepare("SELECT COUNT(*) FROM pending_requests WHERE status = 'pending'");
    return st.step() ? st.integer(0) : 0;
}

bool SqliteStore::decide_pending(const std::string& transaction_id, bool approve,
                                 const std::string& reason, std::int64_t at) {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    conn->prepare(kDecidePending)
        .bind(1, transaction_id)
        .bind(2, std::string(approve ? "approved" : "denied"))
        .bind(3, reason)
        .bind(4, at)
        .step();
    bool decided = conn->changes() == 1;
    write.commit();
    return decided;
}

// Inside record_issuance's write transaction, so two workers answering polls
// for one approved request cannot both store a certificate: the second finds
// it issued and its whole transaction rolls back.
void SqliteStore::mark_pending_issued(sqlite::Connection& conn, const IssuedCert& cert,
                                      const TransactionRecord& tx) {
    auto status = conn.prepare(kPendingStatus);
    status.bind(1, tx.transaction_id);
    if (status.step() && status.text(0) == "issued")
        throw PendingAlreadyIssued("the request " + tx.transaction_id + " was issued by another worker");
    conn.prepare(kMarkPendingIssued)
        .bind(1, tx.transaction_id)
        .bind(2, stored_serial(cert.serial_hex))
        .bind(3, tx.updated_at)
        .step();
}

// ---- revocation ----

bool SqliteStore::revoke(const std::string& serial_hex, int reason, std::int64_t at) {
    if (!is_revocation_reason(reason)) {
        throw StoreError("revocation reason " + std::to_string(reason) +
                         " is not an RFC 5280 CRLReason for revoking");
    }
    auto serial = canonical_serial(serial_hex);
    if (!serial) return false;  // not hex: no such certificate
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    conn->prepare(kRevoke).bind(1, *serial).bind(2, at).bind(3, std::int64_t{reason}).step();
    bool revoked = conn->changes() == 1;
    write.commit();
    return revoked;
}

std::vector<RevokedCert> SqliteStore::list_revoked() {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kListRevoked);
    std::vector<RevokedCert> out;
    while (st.step()) out.push_back({st.text(0), st.integer(1), int(st.integer(2))});
    return out;
}

std::int64_t SqliteStore::revocation_count() {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kCountRevoked);
    return st.step() ? st.integer(0) : 0;
}

// ---- CRLs ----

std::int64_t SqliteStore::next_crl_number() {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    conn->prepare(kReserveCrlNumber).step();
    std::string number = conn->query_text(kReadCrlNumber);
    if (number.empty()) throw StoreError(path_ + ": the CRL counter row is missing");
    write.commit();
    return std::stoll(number);
}

void SqliteStore::save_crl(const CrlRecord& crl) {
    if (crl.number <= 0) throw StoreError("CRL number " + std::to_string(crl.number) + " is not positive");
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    auto insert = conn->prepare(kInsertCrl);
    insert.bind(1, crl.number).bind(2, crl.this_update).bind(3, crl.next_update).bind_blob(4, crl.der);
    try {
        insert.step();
    } catch (const sqlite::SqliteError& e) {
        if (e.code() != SQLITE_CONSTRAINT_PRIMARYKEY) throw;
        throw StoreError("CRL number " + std::to_string(crl.number) + " is already in the store");
    }
    conn->prepare(kPruneCrls).bind(1, kCrlsKept).step();
    write.commit();
}

std::optional<CrlRecord> SqliteStore::latest_crl() {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kLatestCrl);
    if (!st.step()) return std::nullopt;
    return CrlRecord{st.integer(0), st.integer(1), st.integer(2), st.blob(3)};
}

}  // namespace scepter
