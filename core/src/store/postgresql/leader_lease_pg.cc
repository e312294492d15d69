// A leader lease across every node: a session-level advisory lock, taken
// on a connection of the lease's own (never a pooled one, which other
// requests would borrow). PostgreSQL releases it when that session ends,
// so a worker killed with SIGKILL frees it as soon as the server sees the
// connection close. held() asks on the same connection: a broken one means
// the lock is (or soon is) gone. A worker that asked in vain keeps its
// connection for the next attempt (one per worker, not one per interval).
#include "store/postgresql/store_pg.h"
#include "store/store_keys.h"

namespace scepter {
namespace {

// The lock's key: the name hashed into the advisory lock space, prefixed so
// that it never equals the schema's or the quota's keys.
constexpr const char* kTryLock = "SELECT pg_try_advisory_lock(hashtextextended('scepter-lease:' || $1, 0))";
constexpr const char* kStillHeld =
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted";

class AdvisoryLease final : public LeaderLease {
   public:
    explicit AdvisoryLease(std::unique_ptr<pg::Connection> conn) noexcept : conn_(std::move(conn)) {}
    bool held() noexcept override {
        try {
            return !conn_->broken() && conn_->exec(kStillHeld).integer(0, 0) > 0;
        } catch (...) {
            return false;
        }
    }

   private:
    std::unique_ptr<pg::Connection> conn_;  // closing it ends the session, and the lock
};

}  // namespace

std::unique_ptr<LeaderLease> PgStore::try_leader_lease(const std::string& name) {
    pg::Params p;
    p.text(checked_lease_name(name));
    std::lock_guard<std::mutex> lock(lease_mutex_);
    std::unique_ptr<pg::Connection>& conn = lease_askers_[name];
    if (conn && conn->broken()) conn.reset();
    if (!conn) conn = std::make_unique<pg::Connection>(connect_);
    try {
        if (conn->exec(kTryLock, p).text(0, 0) != "t") return nullptr;  // kept for the next attempt
    } catch (...) {
        conn.reset();
        throw;
    }
    auto lease = std::make_unique<AdvisoryLease>(std::move(conn));
    lease_askers_.erase(name);
    return lease;
}

}  // namespace scepter
