#include "admin/intune_revocation_poller.h"

#include "scepter/log_ids.h"

#include <cctype>

namespace scepter {

RevocationPoller::RevocationPoller(RevocationSyncEnv env, std::unique_ptr<IntuneSession> session, StoreAccess store,
                                   LogSink sink, std::chrono::milliseconds every)
    : env_(std::move(env)),
      session_(std::move(session)),
      store_(std::move(store)),
      sink_(std::move(sink)),
      every_(every),
      thread_([this] { run(); }) {}

RevocationPoller::~RevocationPoller() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::string RevocationPoller::lease_name(const std::string& profile) {
    std::string name = "intune-revocation-sync:";
    for (unsigned char c : profile) name += std::isalnum(c) || c == '-' || c == '.' || c == '_' ? char(c) : '_';
    return name.substr(0, 100);
}

bool RevocationPoller::wait_period() {
    std::unique_lock<std::mutex> lock(mutex_);
    return !wake_.wait_for(lock, every_, [this] { return stopping_; });
}

void RevocationPoller::tick(Response& out) {
    const std::string who = "profile '" + env_.profile + "': Intune revocation sync: ";
    if (lease_ && !lease_->held()) {
        lease_.reset();
        out.log(SCEPTER_LOG_WARN, SCEPTER_ID_INTUNE_POLLER_LOST,
                who + "this worker lost the lease (its database connection broke); it asks for it again");
        return;
    }
    if (!lease_) {
        lease_ = store_().try_leader_lease(lease_name(env_.profile));
        if (!lease_) return;  // another worker of the fleet polls
        out.log(SCEPTER_LOG_INFO, SCEPTER_ID_INTUNE_POLLER_LEADER,
                who + "this worker (" + env_.user_agent + ") polls for the fleet now");
    }
    sync_revocations_once(*session_, store_(), env_, out);
}

void RevocationPoller::run() noexcept {
    while (wait_period()) {
        Response out;
        try {
            tick(out);
        } catch (const std::exception& e) {
            out.log(SCEPTER_LOG_ERROR, SCEPTER_ID_INTUNE_SYNC_FAILED,
                    "profile '" + env_.profile + "': Intune revocation sync failed (tried again in " +
                        std::to_string(every_.count() / 1000) + " s): " + e.what());
        } catch (...) {
            out.log(SCEPTER_LOG_ERROR, SCEPTER_ID_INTUNE_SYNC_FAILED,
                    "profile '" + env_.profile + "': Intune revocation sync failed: unknown error");
        }
        for (const LogLine& line : out.logs) {
            try {
                sink_(line);
            } catch (...) {
            }
        }
    }
}

}  // namespace scepter
