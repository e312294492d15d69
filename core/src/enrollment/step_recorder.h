// The audit bookkeeping of one PKIOperation: which step runs now, one audit
// line when it passes or fails, and the log lines the Response carries back
// to the web server. Every step writes to it; it carries no step's result.
#pragma once

#include "audit/audit.h"
#include "codec/response.h"
#include "scepter/pki_message.h"

#include <chrono>
#include <string>

namespace scepter {

class StepRecorder {
   public:
    StepRecorder(const AuditLog& audit, AuditContext& ctx) : audit_(audit), ctx_(ctx) {}

    // The step that runs from now on: a failure is reported as this step's.
    void begin(const char* id, const char* step);
    const char* step() const { return step_; }
    const metrics::Metrics& metrics() const { return audit_.metrics(); }

    void passed(const std::string& detail = "", const AuditFields& fields = {});
    void failed(const std::string& why, const AuditFields& fields = {});
    void log(scepter_log_level level, const char* id, const std::string& text);

    // The response_sent step and the CertRep it carries.
    Response reply(Bytes body, const char* pki_status, const AuditFields& fields = {});
    // What a non-SCEP answer takes along: the log lines written so far.
    std::vector<LogLine> take_logs() { return std::move(resp_.logs); }

   private:
    const AuditLog& audit_;
    AuditContext& ctx_;
    Response resp_;
    const char* step_id_ = "";
    const char* step_ = "";
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();  // of the current step
};

}  // namespace scepter
