// The store: issued certificates and SCEP transactions.
//
// An interface so that a server database can stand beside the embedded
// SQLite store later (several nodes sharing one state). Implementations are
// safe to call from many threads of one process; every process opens its own.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace scepter {

class StoreError : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
    // true: the store cannot be used right now (read-only, full, I/O error,
    // missing, locked past the busy timeout). The operator's problem, not
    // the client's; nothing was written, and a later attempt may succeed.
    virtual bool unavailable() const noexcept { return false; }
};

struct IssuedCert {
    std::string serial_hex;      // upper-case hex, no leading zeros beyond one byte
    std::string subject;         // RFC 2253 one-line form
    std::string sans;            // comma-separated "dns:x, email:y"
    std::string sha1_hex;        // thumbprints of the DER certificate, lower-case hex
    std::string sha256_hex;
    std::int64_t not_before = 0; // unix seconds
    std::int64_t not_after = 0;
    std::string template_name;
    std::string profile;
    std::string transaction_id;
    std::string requester_ip;
    // Who enrolled: the user of the one-time challenge the enrollment used,
    // which record_issuance fills in from the store; empty without one.
    std::string requester;
    std::int64_t issued_at = 0;
    std::string status = "issued";   // issued | revoked
    std::int64_t revoked_at = 0;     // unix seconds, when revoked
    int revocation_reason = -1;      // RFC 5280 CRLReason code, when revoked
    std::vector<unsigned char> der;
};

// A PKCSReq or RenewalReq waiting for an admin's decision (PENDING), then
// answered on the device's next CertPoll (or re-sent request).
struct PendingRequest {
    std::string transaction_id;
    std::string profile;
    std::string template_name;
    int message_type = 19;
    std::string subject;
    std::string requester_ip;
    std::string status = "pending";  // pending | approved | denied | issued
    std::string reason;              // the admin's words when deciding
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::string serial_hex;          // once issued
    std::vector<unsigned char> csr_der;     // the PKCS#10
    std::vector<unsigned char> signer_der;  // the requester's signer certificate (the CertRep is enveloped to it)
};

struct RevokedCert {
    std::string serial_hex;
    std::int64_t revoked_at = 0;
    int reason = 0;  // RFC 5280 CRLReason code
};

// Which certificates a bulk revocation means (find_certs).
struct CertMatch {
    enum class Field {
        subject_cn,  // a CN of the subject, exactly (RFC 2253 escapes undone)
        san,         // one SAN entry, exactly: "dns:host" (type and value) or the value alone
        requester,   // who enrolled: the client IP, or the user of the one-time challenge the
                     // enrollment consumed (IssuedCert::requester), or the admin who asked for
                     // that challenge (while the challenge row is kept)
    };
    Field field = Field::subject_cn;
    std::string value;
};

struct CrlRecord {
    std::int64_t number = 0;
    std::int64_t this_update = 0;
    std::int64_t next_update = 0;
    std::vector<unsigned char> der;
};

struct TransactionRecord {
    std::string transaction_id;
    std::string profile;
    int message_type = 0;
    std::string status;          // "success", "failure", "pending"
    std::string fail_info;       // badRequest, ... (empty on success)
    std::string fail_text;
    std::string serial_hex;      // set on success
    std::string requester_ip;
    std::int64_t updated_at = 0;
    // A PKCSReq's or RenewalReq's own issuance: the request's fingerprint
    // (request_fingerprint). The store keeps one successful issuance per
    // fingerprint, so a replayed request never gets a second certificate.
    std::string request_sha256;
};

// A one-time challenge (NDES's mscep_admin password). Only its hash is kept.
// The ID, derived from the challenge one way (challenge_id), finds the
// record; the whole string's SHA-256 is compared in constant time.
struct ChallengeRecord {
    std::string id;               // derived from the challenge; never a part of it
    std::string secret_sha256;    // lower-case hex SHA-256 of the whole challenge
    std::string profile;
    std::string user;             // whom it was issued for
    std::string requester;        // who asked (admin user or IP): the quota counts per requester
    std::int64_t created_at = 0;
    std::int64_t expires_at = 0;
    std::string claims_json;      // what the CSR must match (subject, sans, key usage, eku, min key size)
    std::string status = "active";  // active | consumed
    std::string transaction_id;   // the enrollment that consumed it
    std::int64_t consumed_at = 0;
};

// The requester already holds max_active unexpired, unused challenges.
class ChallengeQuotaFull : public StoreError {
    using StoreError::StoreError;
};

// A one-time challenge that a write uses up in the same store transaction:
// the certificate (or the parked request) and the consumption commit
// together or not at all, so a failed write never costs the device its
// challenge and a used challenge never goes without its record. Expiry is
// judged at checked_at, the time the challenge was looked up.
struct ChallengeUse {
    std::string id;  // empty: nothing to consume (static challenge, renewal, approval)
    std::string transaction_id;
    std::int64_t checked_at = 0;
};

// Leadership of one background task among every process that shares the
// store (the Intune revocation sync: one poller in the whole fleet). Held
// while this object lives; a process that dies, even by SIGKILL, loses it
// at once, because the operating system (flock, SQLite) or PostgreSQL (a
// session's advisory lock on its own connection) lets go of it.
class LeaderLease {
   public:
    virtual ~LeaderLease() = default;
    // false once it is lost (its connection broke): the holder stops and
    // asks again later.
    virtual bool held() noexcept = 0;
};

class Store {
   public:
    virtual ~Store() = default;

    // Records an issued certificate and its transaction atomically; a pending
    // request with the same transaction ID becomes `issued` in the same
    // transaction. Throws DuplicateSerial when the serial exists (the caller
    // draws a new one), PendingAlreadyIssued when that pending request is
    // issued already, RequestAlreadyIssued when tx.request_sha256 was issued
    // already (two copies of one request raced), ChallengeAlreadyUsed when
    // `challenge` cannot be consumed (used, withdrawn or expired); nothing is
    // written then.
    virtual void record_issuance(const IssuedCert& cert, const TransactionRecord& tx,
                                 const ChallengeUse& challenge) = 0;
    void record_issuance(const IssuedCert& cert, const TransactionRecord& tx) { record_issuance(cert, tx, {}); }
    // Records a transaction that ended without a certificate.
    virtual void record_transaction(const TransactionRecord& tx) = 0;

    virtual std::vector<IssuedCert> list_certs(std::size_t limit) = 0;
    // By serial (hex) or by SHA-1 / SHA-256 thumbprint (hex, any case, colons allowed).
    virtual std::optional<IssuedCert> find_cert(const std::string& serial_or_thumbprint) = 0;
    // The certificates that match, unrevoked and unexpired at `now`, newest
    // first, at most `limit`. An empty value matches nothing.
    virtual std::vector<IssuedCert> find_certs(const CertMatch& match, std::int64_t now, std::size_t limit) = 0;
    virtual std::optional<TransactionRecord> find_transaction(const std::string& id) = 0;
    // The certificate issued for the request with this fingerprint, if any.
    virtual std::optional<IssuedCert> find_issued_request(const std::string& request_sha256) = 0;

    // Pending requests. add_pending returns false (and changes nothing) when
    // a request with this transaction ID exists already.
    // With `challenge`, it is consumed in the same transaction (see
    // record_issuance; ChallengeAlreadyUsed when it cannot be).
    virtual bool add_pending(const PendingRequest& req, const ChallengeUse& challenge) = 0;
    bool add_pending(const PendingRequest& req) { return add_pending(req, {}); }
    virtual std::optional<PendingRequest> find_pending(const std::string& transaction_id) = 0;
    // Newest first; status empty = every status.
    virtual std::vector<PendingRequest> list_pending(const std::string& status, std::size_t limit) = 0;
    // How many requests wait for a decision (the metrics' gauge): a count, no rows read.
    virtual std::int64_t count_pending() = 0;
    // pending → approved or denied. False when the request is unknown or no longer pending.
    virtual bool decide_pending(const std::string& transaction_id, bool approve, const std::string& reason,
                                std::int64_t at) = 0;

    // Revocation. False when the serial is unknown or already revoked.
    virtual bool revoke(const std::string& serial_hex, int reason, std::int64_t at) = 0;
    virtual std::vector<RevokedCert> list_revoked() = 0;
    // How many certificates are revoked. It only grows (a revocation is
    // never undone), so a reader that finds it unchanged knows that nothing
    // was revoked since it last looked: the OCSP responder's cache asks.
    virtual std::int64_t revocation_count() { return std::int64_t(list_revoked().size()); }

    // One-time challenges. add_challenge counts the requester's active,
    // unexpired challenges of the same profile (each profile has its own
    // quota) and throws ChallengeQuotaFull at max_active (0: no limit),
    // atomically with the insert.
    virtual void add_challenge(const ChallengeRecord& c, std::size_t max_active, std::int64_t now) = 0;
    virtual std::optional<ChallengeRecord> find_challenge(const std::string& id) = 0;
    // active and unexpired → consumed by transaction_id. Exactly one of
    // several racing callers (any process) gets true.
    virtual bool consume_challenge(const std::string& id, const std::string& transaction_id, std::int64_t now) = 0;
    // The active (unused) challenges that expire after `now`, oldest first.
    virtual std::vector<ChallengeRecord> list_unused_challenges(std::int64_t now) = 0;
    // Deletes challenges that expired before `before`; returns how many.
    virtual std::size_t purge_challenges(std::int64_t before) = 0;
    // Deletes the unused challenges, expired or not, of `requester` (every
    // requester when empty), freeing their quota; returns how many.
    virtual std::size_t withdraw_unused_challenges(const std::string& requester) = 0;

    // CRLs: numbers increase by one per CRL across all processes.
    virtual std::int64_t next_crl_number() = 0;
    virtual void save_crl(const CrlRecord& crl) = 0;
    virtual std::optional<CrlRecord> latest_crl() = 0;

    // The lease called `name` (letters, digits, '-', '.', '_', ':'), or
    // nullptr while another process holds it. SQLite: a flock on a file
    // beside the database (one machine); PostgreSQL: a session advisory
    // lock on a connection of the lease's own (every node). Throws
    // StoreError when the store cannot be asked.
    virtual std::unique_ptr<LeaderLease> try_leader_lease(const std::string& name) = 0;
};

// A write's one-time challenge was used, withdrawn or had expired: nothing
// was written.
class ChallengeAlreadyUsed : public StoreError {
    using StoreError::StoreError;
};

class DuplicateSerial : public StoreError {
    using StoreError::StoreError;
};

// record_issuance for a pending request another process issued already
// (two polls raced): nothing was written; answer with the stored certificate.
class PendingAlreadyIssued : public StoreError {
    using StoreError::StoreError;
};

// record_issuance for a request whose fingerprint was issued already: nothing
// was written; answer with the stored certificate, never a second one.
class RequestAlreadyIssued : public StoreError {
    using StoreError::StoreError;
};

// Who opens a store. A server's worker checkpoints SQLite's write-ahead log
// from a background thread of its own, so that no request's commit pays for
// it; a short-lived process (the CLI) leaves that to SQLite's own threshold.
enum class StoreUser { command, worker };

// How a commit reaches the disk (store.synchronous). full: synced before the
// device is answered. normal: synced at checkpoints only, so a power cut
// may lose the last commits (never corrupts the file) for more commits a
// second on a disk with slow syncs.
enum class SqliteSync { full, normal };

struct SqliteSettings {
    int busy_timeout_ms = 5000;
    StoreUser user = StoreUser::command;
    SqliteSync sync = SqliteSync::full;
};

// Opens (creating if needed) the SQLite store in WAL mode.
std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteSettings& settings);
inline std::unique_ptr<Store> open_sqlite_store(const std::string& path, int busy_timeout_ms) {
    return open_sqlite_store(path, SqliteSettings{busy_timeout_ms});
}

// The PostgreSQL store (store.postgresql): several nodes share it.
struct PgSettings {
    std::string conninfo;       // libpq connection string or URI, without a password
    std::string password_file;  // first line is the password; empty: libpq's own (PGPASSFILE, ~/.pgpass)
    int connect_timeout_s = 5;
    std::size_t max_connections = 4;  // per process
};

// Opens the PostgreSQL store. Nothing connects yet: the first operation
// does (after fork, on the thread that needs it) and checks the schema.
std::unique_ptr<Store> open_pg_store(const PgSettings& settings);

// Why a store.postgresql conninfo cannot be used (it does not parse, or it
// holds a password), or empty. The message never repeats the conninfo.
std::string pg_conninfo_problem(const std::string& conninfo);

// What copy_store copied.
struct StoreCopyCounts {
    std::size_t certificates = 0;
    std::size_t revoked = 0;
    std::size_t pending = 0;
    std::size_t challenges = 0;
    std::int64_t crl_number = 0;  // the latest CRL's (0: none)
};

// Copies a store into an empty one (`scepter store migrate`): every
// certificate (with its revocation and requester), every pending request,
// the unused, unexpired challenges (hashed, as stored) and the latest CRL,
// so the target's CRL numbers go on from the source's. Throws StoreError
// when `to` holds certificates already.
StoreCopyCounts copy_store(Store& from, Store& to, std::int64_t now);

// Throws StoreError when the store file is missing although a store was
// created there before (its marker file or its WAL leftovers remain): an
// empty store in its place would forget every certificate, revocation and
// the CRL number. A path where no store ever was passes (a new deployment).
void check_store_not_lost(const std::string& path);

}  // namespace scepter
