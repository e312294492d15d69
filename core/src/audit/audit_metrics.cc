#include "audit/audit_metrics.h"

#include "scepter/audit_trail.h"
#include "scepter/log_ids.h"

#include <cstring>

namespace scepter {
namespace {

bool is(const char* a, const char* b) { return std::strcmp(a, b) == 0; }

std::string_view field_of(const AuditFields& fields, std::string_view key) {
    for (const auto& [k, v] : fields)
        if (k == key) return v;
    return {};
}

// The reason a failure is grouped by, as `scepter trace --failed` groups it:
// the failure hint's key, else the failInfo. Never the free text of the
// detail, so the label stays bounded.
std::string_view reason_of(const char* step, const std::string& detail, const AuditFields& fields) {
    if (const FailureHint* h = find_failure_hint(step, detail)) return h->key;
    std::string_view fail_info = field_of(fields, "fail_info");
    return fail_info.empty() ? std::string_view("other") : fail_info;
}

}  // namespace

void count_step(const metrics::Metrics& m, const AuditContext& ctx, const char* step, bool ok, const std::string& detail,
                const AuditFields& fields) noexcept {
    if (!m.attached()) return;
    if (!ok) {
        std::string_view reason = reason_of(step, detail, fields);
        m.failure(step, reason);
        if (reason == "ChallengeExpired") m.challenge(ctx.profile, metrics::ch_expired);
        if (reason == "ChallengeQuotaFull") m.challenge(ctx.profile, metrics::ch_refused_quota);
        // The certificate signed before the notification failed is withdrawn.
        if (reason == "NotificationFailed") m.certificate_revoked(ctx.profile);
        return;
    }
    if (is(step, "cert_issued")) m.certificate_issued(ctx.profile);
    else if (is(step, "cert_revoked")) m.certificate_revoked(ctx.profile);
    else if (is(step, "challenge_issued")) m.challenge(ctx.profile, metrics::ch_issued);
}

void time_step(const metrics::Metrics& m, const char* step, bool ok, std::uint64_t ns) noexcept {
    if (!m.attached()) return;
    m.step_time(step, ns);
    if (is(step, "external_validation")) m.validation(metrics::call_validate, ok, ns);
    else if (is(step, "outcome_notified")) m.validation(metrics::call_notify, ok, ns);
}

void count_log_lines(const metrics::Metrics& m, const std::string& profile, const std::vector<LogLine>& logs) noexcept {
    if (!m.attached()) return;
    const std::size_t id_len = std::strlen(SCEPTER_ID_STORE_FAILED);
    for (const LogLine& l : logs) {
        if (l.text.compare(0, id_len, SCEPTER_ID_STORE_FAILED) == 0) m.store_error();
        else if (l.text.compare(0, id_len, SCEPTER_ID_POLICY_FAILED) == 0) m.policy_error(profile);
    }
}

}  // namespace scepter
