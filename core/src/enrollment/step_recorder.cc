#include "enrollment/step_recorder.h"

#include "scepter/log_ids.h"

namespace scepter {

void StepRecorder::begin(const char* id, const char* step) {
    step_id_ = id;
    step_ = step;
}

void StepRecorder::passed(const std::string& detail, const AuditFields& fields) {
    audit_.step(ctx_, step_id_, step_, true, detail, resp_, fields);
}

void StepRecorder::failed(const std::string& why, const AuditFields& fields) {
    audit_.step(ctx_, step_id_, step_, false, why, resp_, fields);
}

void StepRecorder::log(scepter_log_level level, const char* id, const std::string& text) { resp_.log(level, id, text); }

Response StepRecorder::reply(Bytes body, const char* pki_status, const AuditFields& fields) {
    begin(SCEPTER_ID_RESPONSE_SENT, "response_sent");
    AuditFields all{{"pki_status", pki_status}};
    all.insert(all.end(), fields.begin(), fields.end());
    passed("", all);
    resp_.status = 200;
    resp_.content_type = "application/x-pki-message";
    resp_.body = std::move(body);
    return std::move(resp_);
}

}  // namespace scepter
