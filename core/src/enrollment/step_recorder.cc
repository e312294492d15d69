#include "enrollment/step_recorder.h"

#include "audit/audit_metrics.h"
#include "scepter/log_ids.h"

namespace scepter {
namespace {

std::uint64_t nanoseconds_since(std::chrono::steady_clock::time_point start) {
    return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace

void StepRecorder::begin(const char* id, const char* step) {
    step_id_ = id;
    step_ = step;
    started_ = std::chrono::steady_clock::now();
}

void StepRecorder::passed(const std::string& detail, const AuditFields& fields) {
    time_step(audit_.metrics(), step_, true, nanoseconds_since(started_));
    audit_.step(ctx_, step_id_, step_, true, detail, resp_, fields);
}

void StepRecorder::failed(const std::string& why, const AuditFields& fields) {
    time_step(audit_.metrics(), step_, false, nanoseconds_since(started_));
    audit_.step(ctx_, step_id_, step_, false, why, resp_, fields);
}

void StepRecorder::log(scepter_log_level level, const char* id, const std::string& text) { resp_.log(level, id, text); }

Response StepRecorder::reply(Bytes body, const char* pki_status, const AuditFields& fields) {
    begin(SCEPTER_ID_RESPONSE_SENT, "response_sent");
    ctx_.pki_status = pki_status;
    AuditFields all{{"pki_status", pki_status}};
    all.insert(all.end(), fields.begin(), fields.end());
    passed("", all);
    resp_.status = 200;
    resp_.content_type = "application/x-pki-message";
    resp_.body = std::move(body);
    return std::move(resp_);
}

}  // namespace scepter
