// What a profile adds around the core steps: the Lua policy (NDES's
// INDESPolicy::VerifyRequest and Notify), the external validation service
// (the Intune certificate connector's validate and notify, before the device
// gets its answer), and the status records (NDES's .CRS files).
#include "codec/der.h"
#include "enrollment/enrollment.h"
#include "policy/policy_request.h"
#include "scepter/log_ids.h"
#include "scepter/text.h"

#include <openssl/x509v3.h>

namespace scepter {
namespace {

// The failure notification's HRESULT, shown to admins in the MDM console: a
// customer-defined code (severity and C bits set, 0xA004xxxx) carrying the
// SCEP failInfo, so it is never mistaken for one of AD CS's own codes.
std::uint32_t hresult_of(FailInfo f) { return 0xA0000000u | 0x00040000u | std::uint32_t(f); }

}  // namespace

const Template& Enrollment::apply_policy(const CsrInfo& csr, const Template& chosen, bool renewal) {
    if (!hooks_.policy) return chosen;
    begin(SCEPTER_ID_POLICY_DECIDED, "policy_decided");
    PolicyRequest req = policy_request_from_csr(csr);
    req.transaction_id = ctx_.transaction_id;
    req.message_type = ctx_.message_type;
    req.profile = profile_.name;
    req.claims = claims_;
    req.client_ip = ctx_.client_ip;
    req.user_agent = ctx_.user_agent;
    req.client_os = ctx_.client_os;
    if (renewal) req.signer_cert_pem = pem_encode(to_der(msg_.signer.get(), i2d_X509), "CERTIFICATE");
    if (profile_.by_key_usage) {
        req.templates = {{"signature", profile_.by_key_usage->signature},
                         {"encryption", profile_.by_key_usage->encryption},
                         {"general_purpose", profile_.by_key_usage->general_purpose}};
    } else {
        req.templates = {{"signature", chosen.name}, {"encryption", chosen.name}, {"general_purpose", chosen.name}};
    }
    PolicyDecision d;
    try {
        d = hooks_.policy->verify_request(req);
    } catch (const PolicyError& e) {
        resp_.log(SCEPTER_LOG_ERROR, SCEPTER_ID_POLICY_FAILED, "transaction " + ctx_.transaction_id + ": " + e.what());
        throw ScepFailure(FailInfo::bad_request, std::string("PolicyFailed: the policy could not decide (") + e.what() + ")");
    }
    if (d.verdict == PolicyDecision::Verdict::deny)
        throw ScepFailure(FailInfo::bad_request, "PolicyDenied: " + (d.reason.empty() ? "the policy denied it" : d.reason));
    const Template* t = &chosen;
    if (!d.template_name.empty()) {
        auto it = cfg_.templates.find(d.template_name);
        if (it == cfg_.templates.end())
            throw ScepFailure(FailInfo::bad_request, "PolicyFailed: the policy chose template '" + d.template_name +
                                                         "', which the configuration does not define");
        t = &it->second;
    }
    policy_sans_ = d.sans;
    policy_pending_ = d.verdict == PolicyDecision::Verdict::pending;
    passed(d.reason, {{"verdict", policy_pending_ ? "pending" : "allow"}, {"template", t->name}});
    return *t;
}

void Enrollment::validate_externally(const CsrInfo& csr) {
    if (!hooks_.validator) return;
    begin(SCEPTER_ID_EXTERNAL_VALIDATED, "external_validation");
    ValidationOutcome outcome = hooks_.validator->validate(ctx_.transaction_id, csr.der);
    if (!outcome.ok)
        throw ScepFailure(FailInfo::bad_request, (outcome.code.empty() ? "Unknown" : outcome.code) +
                                                     (outcome.description.empty() ? "" : ": " + outcome.description));
    passed("", {{"code", outcome.code}});
}

// The validation service hears of the certificate before the device does; if
// it cannot be told, the device gets no certificate (the one just signed is
// revoked, so nothing valid is left that nobody was told of).
void Enrollment::notify_success(const Issued& issued, const CsrInfo& csr) {
    if (hooks_.policy) {
        try {
            hooks_.policy->notify({ctx_.transaction_id, "SUCCESS", "", "", issued.record.serial_hex,
                                   issued.record.sha256_hex});
        } catch (const std::exception& e) {
            resp_.log(SCEPTER_LOG_ERROR, SCEPTER_ID_POLICY_FAILED, "transaction " + ctx_.transaction_id +
                                                                       ": notify: " + e.what());
        }
    }
    if (!hooks_.validator) return;
    begin(SCEPTER_ID_OUTCOME_NOTIFIED, "outcome_notified");
    ossl::Buffer<char> ca_name(X509_NAME_oneline(X509_get_subject_name(ca_.ca.cert.get()), nullptr, 0));
    try {
        hooks_.validator->notify_success(ctx_.transaction_id, csr.der, issued.record.sha1_hex,
                                         issued.record.serial_hex, issued.record.not_after,
                                         ca_name ? ca_name.get() : "");
    } catch (const std::exception& e) {
        store_.revoke(issued.record.serial_hex, 5 /* cessationOfOperation */, std::time(nullptr));
        notification_ = std::string("failed: ") + e.what();
        throw ScepFailure(FailInfo::bad_request, std::string("NotificationFailed: the success notification was not "
                                                             "accepted, the certificate is withdrawn (") +
                                                     e.what() + ")");
    }
    notification_ = "sent";
    passed("", {{"notification", "success"}, {"serial", issued.record.serial_hex}});
}

void Enrollment::notify_failure(const ScepFailure& f) {
    if (hooks_.policy) {
        try {
            hooks_.policy->notify({ctx_.transaction_id, "FAILURE", to_string(f.info()), f.what(), "", ""});
        } catch (const std::exception& e) {
            resp_.log(SCEPTER_LOG_ERROR, SCEPTER_ID_POLICY_FAILED, "transaction " + ctx_.transaction_id +
                                                                       ": notify: " + e.what());
        }
    }
    if (!hooks_.validator || csr_der_.empty() || notification_ != "none") return;
    try {
        hooks_.validator->notify_failure(ctx_.transaction_id, csr_der_, hresult_of(f.info()),
                                         std::string(step_) + ": " + f.what());
        notification_ = "sent";
    } catch (const std::exception& e) {
        notification_ = std::string("failed: ") + e.what();
        resp_.log(SCEPTER_LOG_WARN, SCEPTER_ID_NOTIFY_FAILED, "transaction " + ctx_.transaction_id +
                                                                  ": failure notification: " + e.what());
    }
}

void Enrollment::status_begin() {
    if (status_ == nullptr) return;
    status_begun_ = true;
    try {
        status_->begin(ctx_.transaction_id, {{"profile", profile_.name},
                                             {"message_type", ctx_.message_type},
                                             {"client_ip", ctx_.client_ip},
                                             {"client_os", ctx_.client_os}});
    } catch (const std::exception& e) {
        resp_.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STATUS_RECORD_FAILED, e.what());
    }
}

void Enrollment::status_success(const Issued& issued) {
    ossl::Buffer<char> ca_name(X509_NAME_oneline(X509_get_subject_name(ca_.ca.cert.get()), nullptr, 0));
    status_finish(true, {{StatusRecords::kThumbprint, issued.record.sha1_hex},
                         {StatusRecords::kSerial, issued.record.serial_hex},
                         {StatusRecords::kNotAfter, std::to_string(issued.record.not_after)},
                         {StatusRecords::kIssuingCa, ca_name ? ca_name.get() : ""},
                         {"template", issued.record.template_name}});
}

void Enrollment::status_failure(const ScepFailure& f) {
    status_finish(false, {{StatusRecords::kHresult, std::to_string(hresult_of(f.info()))},
                          {StatusRecords::kError, std::string(step_) + ": " + f.what()},
                          {"fail_info", to_string(f.info())}});
}

void Enrollment::status_finish(bool succeeded, const std::map<std::string, std::string>& fields) {
    if (status_ == nullptr || !status_begun_) return;
    std::map<std::string, std::string> all = fields;
    all[StatusRecords::kNotification] = notification_;
    if (!csr_der_.empty()) all[StatusRecords::kCertificateRequest] = base64_encode(csr_der_);
    try {
        status_->finish(ctx_.transaction_id, succeeded, all);
    } catch (const std::exception& e) {
        resp_.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STATUS_RECORD_FAILED, e.what());
    }
}

}  // namespace scepter
