// The PostgreSQL store's certificate lifecycle: pending requests, revocation
// and CRLs. State changes are conditional UPDATEs (the loser of a race
// matches no row); the CRL counter is one row, so its row lock hands every
// node a different number.
#include "store/postgresql/store_pg.h"
#include "store/store_columns.h"
#include "store/store_keys.h"

namespace scepter {
namespace {

constexpr std::int64_t kCrlsKept = 32;  // as in the SQLite store

constexpr const char* kPendingColumns = store_columns::kPending;
const std::string kInsertPending = std::string("INSERT INTO pending_requests (") + kPendingColumns +
                                   ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                                   " ON CONFLICT (transaction_id) DO NOTHING";
const std::string kFindPending =
    std::string("SELECT ") + kPendingColumns + " FROM pending_requests WHERE transaction_id = $1";
const std::string kListPendingByStatus = std::string("SELECT ") + kPendingColumns +
                                         " FROM pending_requests WHERE status = $1"
                                         " ORDER BY created_at DESC, seq DESC LIMIT $2";
const std::string kListPendingAll = std::string("SELECT ") + kPendingColumns +
                                    " FROM pending_requests ORDER BY created_at DESC, seq DESC LIMIT $1";
constexpr const char* kDecidePending =
    "UPDATE pending_requests SET status = $2, reason = $3, updated_at = $4 "
    "WHERE transaction_id = $1 AND status = 'pending'";
// FOR UPDATE: two nodes answering polls for one approved request queue on
// the row; the second sees it issued and rolls its issuance back.
constexpr const char* kPendingStatus = "SELECT status FROM pending_requests WHERE transaction_id = $1 FOR UPDATE";
constexpr const char* kMarkPendingIssued =
    "UPDATE pending_requests SET status = 'issued', serial = $2, updated_at = $3 "
    "WHERE transaction_id = $1 AND status IN ('pending', 'approved')";

constexpr const char* kRevoke =
    "UPDATE certificates SET status = 'revoked', revoked_at = $2, revocation_reason = $3 "
    "WHERE serial = $1 AND status <> 'revoked'";
constexpr const char* kCountRevoked = "SELECT count(*) FROM certificates WHERE status = 'revoked'";
constexpr const char* kListRevoked =
    "SELECT serial, revoked_at, revocation_reason FROM certificates "
    "WHERE status = 'revoked' ORDER BY revoked_at, serial";

constexpr const char* kReserveCrlNumber =
    "UPDATE crl_counter SET last_number = "
    "GREATEST(last_number, (SELECT COALESCE(MAX(number), 0) FROM crls)) + 1 WHERE only_row = 1 "
    "RETURNING last_number";
constexpr const char* kInsertCrl =
    "INSERT INTO crls (number, this_update, next_update, der) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (number) DO NOTHING";
constexpr const char* kPruneCrls =
    "DELETE FROM crls WHERE number NOT IN (SELECT number FROM crls ORDER BY number DESC LIMIT $1)";
constexpr const char* kLatestCrl =
    "SELECT number, this_update, next_update, der FROM crls ORDER BY number DESC LIMIT 1";

PendingRequest read_pending(const pg::Result& r, int row) {
    PendingRequest p;
    p.transaction_id = r.text(row, 0);
    p.profile = r.text(row, 1);
    p.template_name = r.text(row, 2);
    p.message_type = int(r.integer(row, 3));
    p.subject = r.text(row, 4);
    p.requester_ip = r.text(row, 5);
    p.status = r.text(row, 6);
    p.reason = r.text(row, 7);
    p.created_at = r.integer(row, 8);
    p.updated_at = r.integer(row, 9);
    p.serial_hex = r.text(row, 10);
    p.csr_der = r.bytes(row, 11);
    p.signer_der = r.bytes(row, 12);
    return p;
}

pg::Params pending_params(const PendingRequest& p) {
    pg::Params out;
    out.text(p.transaction_id).text(p.profile).text(p.template_name).integer(p.message_type).text(p.subject);
    out.text(p.requester_ip).text(p.status).text(p.reason).integer(p.created_at).integer(p.updated_at);
    if (p.serial_hex.empty()) {
        out.null();
    } else {
        out.text(stored_serial(p.serial_hex));
    }
    out.bytes(p.csr_der).bytes(p.signer_der);
    return out;
}

std::int64_t sql_limit(std::size_t limit) {
    constexpr std::size_t kMax = std::size_t(INT64_MAX);
    return std::int64_t(limit < kMax ? limit : kMax);
}

bool is_revocation_reason(int reason) { return reason >= 0 && reason <= 10 && reason != 7 && reason != 8; }

}  // namespace

// ---- pending requests ----

bool PgStore::add_pending(const PendingRequest& req, const ChallengeUse& challenge) {
    auto conn = pool_.acquire();
    pg::Transaction write(*conn);
    if (conn->exec(kInsertPending, pending_params(req)).affected() != 1) return false;  // rolled back
    use_challenge(*conn, challenge);
    write.commit();
    return true;
}

std::optional<PendingRequest> PgStore::find_pending(const std::string& transaction_id) {
    auto conn = pool_.acquire();
    auto r = conn->exec(kFindPending, pg::Params().text(transaction_id));
    if (r.rows() == 0) return std::nullopt;
    return read_pending(r, 0);
}

std::vector<PendingRequest> PgStore::list_pending(const std::string& status, std::size_t limit) {
    auto conn = pool_.acquire();
    auto r = status.empty() ? conn->exec(kListPendingAll, pg::Params().integer(sql_limit(limit)))
                            : conn->exec(kListPendingByStatus, pg::Params().text(status).integer(sql_limit(limit)));
    std::vector<PendingRequest> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_pending(r, i));
    return out;
}

std::int64_t PgStore::count_pending() {
    auto conn = pool_.acquire();
    return conn->exec("SELECT COUNT(*) FROM pending_requests WHERE status = 'pending'").integer(0, 0);
}

bool PgStore::decide_pending(const std::string& transaction_id, bool approve, const std::string& reason,
                             std::int64_t at) {
    auto conn = pool_.acquire();
    pg::Params p;
    p.text(transaction_id).text(approve ? "approved" : "denied").text(reason).integer(at);
    return conn->exec(kDecidePending, p).affected() == 1;
}

void PgStore::mark_pending_issued(pg::Connection& conn, const IssuedCert& cert, const TransactionRecord& tx) {
    auto status = conn.exec(kPendingStatus, pg::Params().text(tx.transaction_id));
    if (status.rows() == 1 && status.text(0, 0) == "issued")
        throw PendingAlreadyIssued("the request " + tx.transaction_id + " was issued by another worker");
    conn.exec(kMarkPendingIssued,
              pg::Params().text(tx.transaction_id).text(stored_serial(cert.serial_hex)).integer(tx.updated_at));
}

// ---- revocation ----

bool PgStore::revoke(const std::string& serial_hex, int reason, std::int64_t at) {
    if (!is_revocation_reason(reason)) {
        throw StoreError("revocation reason " + std::to_string(reason) +
                         " is not an RFC 5280 CRLReason for revoking");
    }
    auto serial = canonical_serial(serial_hex);
    if (!serial) return false;
    auto conn = pool_.acquire();
    return conn->exec(kRevoke, pg::Params().text(*serial).integer(at).integer(reason)).affected() == 1;
}

std::vector<RevokedCert> PgStore::list_revoked() {
    auto conn = pool_.acquire();
    auto r = conn->exec(kListRevoked);
    std::vector<RevokedCert> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.text(i, 0), r.integer(i, 1), int(r.integer(i, 2))});
    return out;
}

std::int64_t PgStore::revocation_count() {
    auto conn = pool_.acquire();
    return conn->exec(kCountRevoked).integer(0, 0);
}

// ---- CRLs ----

std::int64_t PgStore::next_crl_number() {
    auto conn = pool_.acquire();
    auto r = conn->exec(kReserveCrlNumber);
    if (r.rows() != 1) throw StoreError("store.postgresql: the CRL counter row is missing");
    return r.integer(0, 0);
}

void PgStore::save_crl(const CrlRecord& crl) {
    if (crl.number <= 0) throw StoreError("CRL number " + std::to_string(crl.number) + " is not positive");
    auto conn = pool_.acquire();
    pg::Transaction write(*conn);
    pg::Params p;
    p.integer(crl.number).integer(crl.this_update).integer(crl.next_update).bytes(crl.der);
    if (conn->exec(kInsertCrl, p).affected() != 1)
        throw StoreError("CRL number " + std::to_string(crl.number) + " is already in the store");
    conn->exec(kPruneCrls, pg::Params().integer(kCrlsKept));
    write.commit();
}

std::optional<CrlRecord> PgStore::latest_crl() {
    auto conn = pool_.acquire();
    auto r = conn->exec(kLatestCrl);
    if (r.rows() == 0) return std::nullopt;
    return CrlRecord{r.integer(0, 0), r.integer(0, 1), r.integer(0, 2), r.bytes(0, 3)};
}

}  // namespace scepter
