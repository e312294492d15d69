// What each audit step adds to the metrics. Every step of every request
// passes through AuditLog::step, so the trail and the counters see the same
// events; this file says which step moves which counter.
#pragma once

#include "audit/audit.h"
#include "metrics/metrics.h"

#include <cstdint>

namespace scepter {

// A step's audit line was written: failures by reason, certificates,
// challenges.
void count_step(const metrics::Metrics& m, const AuditContext& ctx, const char* step, bool ok, const std::string& detail,
                const AuditFields& fields) noexcept;

// A step of a PKIOperation took ns (StepRecorder times them): its latency,
// and the validation service's when the step is a call to it.
void time_step(const metrics::Metrics& m, const char* step, bool ok, std::uint64_t ns) noexcept;

// The counters that come from the log lines of an answered request: store
// errors (SCP4001) and policy errors (SCP3008), wherever they happened.
void count_log_lines(const metrics::Metrics& m, const std::string& profile, const std::vector<LogLine>& logs) noexcept;

}  // namespace scepter
