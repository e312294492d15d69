#include "audit/get_sampling.h"

namespace scepter {

bool GetRequestSampler::should_log(const std::string& operation, const std::string& client_ip, std::int64_t now_ms) {
    if (mode_ == AuditGetRequests::all) return true;
    if (mode_ == AuditGetRequests::none) return false;
    const std::int64_t minute = now_ms / 60000;
    std::lock_guard<std::mutex> lock(mutex_);
    if (minute != minute_) {
        minute_ = minute;
        seen_.clear();
    }
    if (seen_.size() >= kMaxClients) return false;
    return seen_.insert(operation + " " + client_ip).second;
}

}  // namespace scepter
