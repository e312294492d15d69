// Which GetCACaps/GetCACert/GetNextCACert requests get an audit line
// (audit: get_requests: in the YAML). A monitor probing every second, or a
// fleet of devices in a retry loop, would otherwise fill the trail with
// lines that say nothing new; PKIOperation never passes here.
#pragma once

#include "scepter/config.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>

namespace scepter {

class GetRequestSampler {
   public:
    explicit GetRequestSampler(AuditGetRequests mode) : mode_(mode) {}

    // Whether this request is written. first_per_client_per_minute: the
    // first of each (client address, operation) in each minute of the
    // clock, in this process (each nginx worker and Apache child counts on
    // its own). Thread-safe.
    bool should_log(const std::string& operation, const std::string& client_ip, std::int64_t now_ms);

   private:
    // Clients remembered per minute: a flood from more addresses than this
    // writes no more lines until the next minute.
    static constexpr std::size_t kMaxClients = 65536;

    AuditGetRequests mode_;
    std::mutex mutex_;
    std::int64_t minute_ = -1;
    std::unordered_set<std::string> seen_;  // "operation client" in minute_
};

}  // namespace scepter
