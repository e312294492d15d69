// The embedded SQLite store, shared by its implementation files:
//   store_sqlite.cc            opening, certificates, transactions
//   store_sqlite_schema.cc     the schema and its migrations
//   store_sqlite_lifecycle.cc  pending requests, revocation, CRLs
//   store_sqlite_challenges.cc one-time challenges
//   store_marker.cc            the marker that tells a lost store from a new one
//   leader_lease_sqlite.cc     leader leases (a flock beside the file)
// Internal to the core; everything else sees only scepter/store.h.
#pragma once

#include "scepter/store.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/wal_checkpointer.h"
#include "store/store_keys.h"

#include <memory>
#include <string>

namespace scepter {

// The schema this build writes; older files are migrated up to it. Version
// 2 added revocation, pending requests and CRLs; version 3 one-time
// challenges; version 4 replay protection; version 5 the certificate's requester.
inline constexpr int kStoreSchemaVersion = 5;

// Switches a (possibly new) file to WAL mode and creates or migrates its
// schema, retrying while other processes hold it during their own set-up.
void prepare_store_file(sqlite::Connection& conn, const std::string& path, int busy_timeout_ms);

// The marker beside a store (store_marker.cc): its path, and writing it
// once the store exists (a no-op when it is already there).
std::string store_marker_path(const std::string& store_path);
void mark_store_created(const std::string& store_path);

class SqliteStore final : public Store {
   public:
    SqliteStore(const std::string& path, const SqliteSettings& settings);

    using Store::add_pending;
    using Store::record_issuance;
    void record_issuance(const IssuedCert& cert, const TransactionRecord& tx, const ChallengeUse& challenge) override;
    void record_transaction(const TransactionRecord& tx) override;
    std::vector<IssuedCert> list_certs(std::size_t limit) override;
    std::optional<IssuedCert> find_cert(const std::string& serial_or_thumbprint) override;
    std::vector<IssuedCert> find_certs(const CertMatch& match, std::int64_t now, std::size_t limit) override;
    std::optional<TransactionRecord> find_transaction(const std::string& id) override;
    std::optional<IssuedCert> find_issued_request(const std::string& request_sha256) override;

    bool add_pending(const PendingRequest& req, const ChallengeUse& challenge) override;
    std::optional<PendingRequest> find_pending(const std::string& transaction_id) override;
    std::vector<PendingRequest> list_pending(const std::string& status, std::size_t limit) override;
    std::int64_t count_pending() override;
    bool decide_pending(const std::string& transaction_id, bool approve, const std::string& reason,
                        std::int64_t at) override;

    bool revoke(const std::string& serial_hex, int reason, std::int64_t at) override;
    std::vector<RevokedCert> list_revoked() override;
    std::int64_t revocation_count() override;

    void add_challenge(const ChallengeRecord& c, std::size_t max_active, std::int64_t now) override;
    std::optional<ChallengeRecord> find_challenge(const std::string& id) override;
    bool consume_challenge(const std::string& id, const std::string& transaction_id, std::int64_t now) override;
    std::vector<ChallengeRecord> list_unused_challenges(std::int64_t now) override;
    std::size_t purge_challenges(std::int64_t before) override;
    std::size_t withdraw_unused_challenges(const std::string& requester) override;

    std::int64_t next_crl_number() override;
    void save_crl(const CrlRecord& crl) override;
    std::optional<CrlRecord> latest_crl() override;
    std::unique_ptr<LeaderLease> try_leader_lease(const std::string& name) override;  // leader_lease_sqlite.cc

   private:
    void insert_cert(sqlite::Connection& conn, const IssuedCert& cert);
    void insert_tx(sqlite::Connection& conn, const TransactionRecord& tx);
    // Part of record_issuance's transaction: the pending request behind the
    // issuance (if any) now points at its certificate.
    void mark_pending_issued(sqlite::Connection& conn, const IssuedCert& cert,
                             const TransactionRecord& tx);

    // Inside a write transaction: consumes challenge (when it names one) or
    // throws ChallengeAlreadyUsed, which rolls the whole transaction back.
    void use_challenge(sqlite::Connection& conn, const ChallengeUse& challenge);

    const std::string path_;
    sqlite::ConnectionPool pool_;
    // A worker's; started once the file is set up, stopped before the pool.
    std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;
};

}  // namespace scepter
