// What a profile adds around the core steps: the Lua policy (NDES's
// INDESPolicy::VerifyRequest and Notify), the external validation service
// (the Intune certificate connector's validate and notify, before the device
// gets its answer), and the status records (NDES's .CRS files).
#include "enrollment/outcome_reports.h"
#include "policy/policy_request.h"
#include "scepter/der.h"
#include "scepter/log_ids.h"
#include "scepter/text.h"

#include <openssl/x509v3.h>

namespace scepter {
namespace {

// The failure notification's HRESULT, shown to admins in the MDM console: a
// customer-defined code (severity and C bits set, 0xA004xxxx) carrying the
// SCEP failInfo, so it is never mistaken for one of AD CS's own codes.
std::uint32_t hresult_of(FailInfo f) { return 0xA0000000u | 0x00040000u | std::uint32_t(f); }

PolicyRequest policy_request(const StepEnv& env, const CsrInfo& csr, const Claims& claims, X509* renewed_by,
                             const Template& chosen) {
    PolicyRequest req = policy_request_from_csr(csr);
    req.transaction_id = env.ctx.transaction_id;
    req.message_type = env.ctx.message_type;
    req.profile = env.profile.name;
    req.claims = claims;
    req.client_ip = env.ctx.client_ip;
    req.user_agent = env.ctx.user_agent;
    req.client_os = env.ctx.client_os;
    if (renewed_by != nullptr) req.signer_cert_pem = pem_encode(to_der(renewed_by, i2d_X509), "CERTIFICATE");
    if (const auto& by = env.profile.by_key_usage) {
        req.templates = {{"signature", by->signature},
                         {"encryption", by->encryption},
                         {"general_purpose", by->general_purpose}};
    } else {
        req.templates = {{"signature", chosen.name}, {"encryption", chosen.name}, {"general_purpose", chosen.name}};
    }
    return req;
}

// NDES's INDESPolicy::VerifyRequest.
TemplateDecision apply_policy(const StepEnv& env, const PolicyRequest& req, const Template& chosen) {
    PolicyDecision d;
    try {
        d = env.hooks.policy->verify_request(req);
    } catch (const PolicyError& e) {
        env.steps.log(SCEPTER_LOG_ERROR, SCEPTER_ID_POLICY_FAILED, "transaction " + env.ctx.transaction_id + ": " + e.what());
        throw ScepFailure(FailInfo::bad_request, std::string("PolicyFailed: the policy could not decide (") + e.what() + ")");
    }
    if (d.verdict == PolicyDecision::Verdict::deny)
        throw ScepFailure(FailInfo::bad_request, "PolicyDenied: " + (d.reason.empty() ? "the policy denied it" : d.reason));
    const Template* t = &chosen;
    if (!d.template_name.empty()) {
        auto it = env.cfg.templates.find(d.template_name);
        if (it == env.cfg.templates.end())
            throw ScepFailure(FailInfo::bad_request, "PolicyFailed: the policy chose template '" + d.template_name +
                                                         "', which the configuration does not define");
        t = &it->second;
    }
    const bool pending = d.verdict == PolicyDecision::Verdict::pending;
    env.steps.passed(d.reason, {{"verdict", pending ? "pending" : "allow"}, {"template", t->name}});
    return {t, std::move(d.sans), std::move(d.sid), pending};
}

}  // namespace

TemplateDecision decide_template(const StepEnv& env, const CsrInfo& csr, const Claims& claims, X509* renewed_by) {
    env.steps.begin(SCEPTER_ID_TEMPLATE_CHOSEN, "template_chosen");
    const Template& chosen = choose_template(env.cfg, env.profile, csr);
    env.steps.passed("", {{"template", chosen.name}});
    if (!env.hooks.policy) return {&chosen, std::nullopt, std::nullopt, false};
    env.steps.begin(SCEPTER_ID_POLICY_DECIDED, "policy_decided");
    return apply_policy(env, policy_request(env, csr, claims, renewed_by, chosen), chosen);
}

void validate_externally(const StepEnv& env, const CsrInfo& csr) {
    if (!env.hooks.validator) return;
    env.steps.begin(SCEPTER_ID_EXTERNAL_VALIDATED, "external_validation");
    ValidationOutcome outcome = env.hooks.validator->validate(env.ctx.transaction_id, csr.der);
    if (outcome.log_id)  // Intune's token or discovery: its own line, so the admin finds it by ID
        env.steps.log(SCEPTER_LOG_ERROR, outcome.log_id,
                      "transaction " + env.ctx.transaction_id + ": " + outcome.code + ": " + outcome.description);
    if (!outcome.ok)
        throw ScepFailure(FailInfo::bad_request, (outcome.code.empty() ? "Unknown" : outcome.code) +
                                                     (outcome.description.empty() ? "" : ": " + outcome.description));
    env.steps.passed("", {{"code", outcome.code}});
}

// The validation service hears of the certificate before the device does; if
// it cannot be told, the device gets no certificate (the one just signed is
// revoked, so nothing valid is left that nobody was told of).
void OutcomeReports::notify_success(const Issued& issued, const CsrInfo& csr) {
    const std::string& tx = env_.ctx.transaction_id;
    if (env_.hooks.policy) {
        try {
            env_.hooks.policy->notify({tx, "SUCCESS", "", "", issued.record.serial_hex, issued.record.sha256_hex});
        } catch (const std::exception& e) {
            env_.steps.log(SCEPTER_LOG_ERROR, SCEPTER_ID_POLICY_FAILED, "transaction " + tx + ": notify: " + e.what());
        }
    }
    if (!env_.hooks.validator) return;
    env_.steps.begin(SCEPTER_ID_OUTCOME_NOTIFIED, "outcome_notified");
    try {
        env_.hooks.validator->notify_success(tx, csr.der, issued.record.sha1_hex, issued.record.serial_hex,
                                             issued.record.not_after, issuing_ca_name(env_.ca));
    } catch (const std::exception& e) {
        env_.store.revoke(issued.record.serial_hex, 5 /* cessationOfOperation */, std::time(nullptr));
        notification_ = std::string("failed: ") + e.what();
        throw ScepFailure(FailInfo::bad_request, std::string("NotificationFailed: the success notification was not "
                                                             "accepted, the certificate is withdrawn (") +
                                                     e.what() + ")");
    }
    notification_ = "sent";
    env_.steps.passed("", {{"notification", "success"}, {"serial", issued.record.serial_hex}});
}

void OutcomeReports::failed(const ScepFailure& f, const char* step) {
    notify_failure(f, step);
    finish_status(false, {{StatusRecords::kHresult, std::to_string(hresult_of(f.info()))},
                          {StatusRecords::kError, std::string(step) + ": " + f.what()},
                          {"fail_info", to_string(f.info())}});
}

void OutcomeReports::notify_failure(const ScepFailure& f, const char* step) {
    const std::string& tx = env_.ctx.transaction_id;
    if (env_.hooks.policy) {
        try {
            env_.hooks.policy->notify({tx, "FAILURE", to_string(f.info()), f.what(), "", ""});
        } catch (const std::exception& e) {
            env_.steps.log(SCEPTER_LOG_ERROR, SCEPTER_ID_POLICY_FAILED, "transaction " + tx + ": notify: " + e.what());
        }
    }
    if (!env_.hooks.validator || csr_der_.empty() || notification_ != "none") return;
    try {
        env_.hooks.validator->notify_failure(tx, csr_der_, hresult_of(f.info()), std::string(step) + ": " + f.what());
        notification_ = "sent";
    } catch (const std::exception& e) {
        notification_ = std::string("failed: ") + e.what();
        env_.steps.log(SCEPTER_LOG_WARN, SCEPTER_ID_NOTIFY_FAILED, "transaction " + tx + ": failure notification: " + e.what());
    }
}

void OutcomeReports::open_status() {
    if (status_ == nullptr) return;
    status_open_ = true;
    try {
        status_->begin(env_.ctx.transaction_id, {{"profile", env_.profile.name},
                                                 {"message_type", env_.ctx.message_type},
                                                 {"client_ip", env_.ctx.client_ip},
                                                 {"client_os", env_.ctx.client_os}});
    } catch (const std::exception& e) {
        env_.steps.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STATUS_RECORD_FAILED, e.what());
    }
}

void OutcomeReports::succeeded(const Issued& issued) {
    finish_status(true, {{StatusRecords::kThumbprint, issued.record.sha1_hex},
                         {StatusRecords::kSerial, issued.record.serial_hex},
                         {StatusRecords::kNotAfter, std::to_string(issued.record.not_after)},
                         {StatusRecords::kIssuingCa, issuing_ca_name(env_.ca)},
                         {"template", issued.record.template_name}});
}

void OutcomeReports::finish_status(bool succeeded, const std::map<std::string, std::string>& fields) {
    if (status_ == nullptr || !status_open_) return;
    std::map<std::string, std::string> all = fields;
    all[StatusRecords::kNotification] = notification_;
    if (!csr_der_.empty()) all[StatusRecords::kCertificateRequest] = base64_encode(csr_der_);
    try {
        status_->finish(env_.ctx.transaction_id, succeeded, all);
    } catch (const std::exception& e) {
        env_.steps.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STATUS_RECORD_FAILED, e.what());
    }
}

}  // namespace scepter
