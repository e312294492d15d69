// The revocation sync's poller: a thread of a worker's own (started after
// fork, never on nginx's event loop, never in the master or parent) that
// every revocation_poll_seconds takes or keeps the profile's leader lease
// (Store::try_leader_lease) and, while it holds it, runs one round
// (intune_revocation_sync.h). So exactly one worker of the whole fleet polls: with
// PostgreSQL the lease is a session advisory lock (every node), with
// SQLite a flock beside the database (every worker of the node). A worker
// killed while it polls frees the lease with its process; another worker
// takes it at its next interval.
#pragma once

#include "codec/response.h"
#include "admin/intune_revocation_sync.h"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace scepter {

class RevocationPoller {
   public:
    using StoreAccess = std::function<Store&()>;       // throws while the worker has no store
    using LogSink = std::function<void(const LogLine&)>;  // called on the poller's thread

    RevocationPoller(RevocationSyncEnv env, std::unique_ptr<IntuneSession> session, StoreAccess store,
                     LogSink sink, std::chrono::milliseconds every);
    RevocationPoller(const RevocationPoller&) = delete;
    RevocationPoller& operator=(const RevocationPoller&) = delete;
    // Stops the thread and waits for it: at most the round in flight (the
    // profile's timeout_ms per Intune call).
    ~RevocationPoller();

    // The lease's name for a profile.
    static std::string lease_name(const std::string& profile);

   private:
    void run() noexcept;
    bool wait_period();  // false once asked to stop
    void tick(Response& out);

    RevocationSyncEnv env_;
    std::unique_ptr<IntuneSession> session_;
    StoreAccess store_;
    LogSink sink_;
    const std::chrono::milliseconds every_;
    std::unique_ptr<LeaderLease> lease_;  // the poller thread's alone
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace scepter
