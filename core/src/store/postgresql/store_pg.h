// The PostgreSQL store, for several nodes sharing one state; shared by its
// implementation files:
//   pg_db.cc                   the libpq layer (connections, pool, errors)
//   store_pg.cc                opening, certificates, transactions
//   store_pg_schema.cc         the schema and its migrations
//   store_pg_lifecycle.cc      pending requests, revocation, CRLs
//   store_pg_challenges.cc     one-time challenges
//   leader_lease_pg.cc         leader leases (session advisory locks)
// Internal to the core; everything else sees only scepter/store.h.
//
// Every race the SQLite store settles with BEGIN IMMEDIATE is settled here
// by the database across all nodes: a conditional UPDATE ... RETURNING (one
// winner), a UNIQUE constraint, a row lock (FOR UPDATE) or an advisory
// transaction lock.
#pragma once

#include "scepter/store.h"
#include "store/postgresql/pg_db.h"

#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <string>

namespace scepter {

// The schema this build writes; older databases are migrated up to it, newer
// ones refused. Version 1 holds what SQLite's version 5 holds.
inline constexpr int kPgSchemaVersion = 1;

// Creates or migrates the schema once, whichever node gets there first
// (under pg_advisory_xact_lock); throws StoreError when the database is newer.
void prepare_pg_schema(pg::Connection& conn);

class PgStore final : public Store {
   public:
    explicit PgStore(const PgSettings& settings);

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
    std::unique_ptr<LeaderLease> try_leader_lease(const std::string& name) override;  // leader_lease_pg.cc

   private:
    void insert_cert(pg::Connection& conn, const IssuedCert& cert);
    void insert_tx(pg::Connection& conn, const TransactionRecord& tx);
    void mark_pending_issued(pg::Connection& conn, const IssuedCert& cert, const TransactionRecord& tx);
    // Inside a transaction: consumes challenge (when it names one) or throws
    // ChallengeAlreadyUsed, which rolls the whole transaction back.
    void use_challenge(pg::Connection& conn, const ChallengeUse& challenge);
    // The first connection of the process checks (and migrates) the schema.
    void on_open(pg::Connection& conn);

    std::atomic<bool> schema_ready_{false};
    const pg::ConnectSettings connect_;  // a leader lease's own connection
    // Per lease name, the connection that asked in vain, kept for the next
    // attempt: a worker that is not the leader does not connect anew each
    // interval. Handed to the lease when it is granted.
    std::mutex lease_mutex_;
    std::map<std::string, std::unique_ptr<pg::Connection>> lease_askers_;
    pg::ConnectionPool pool_;
};

}  // namespace scepter
