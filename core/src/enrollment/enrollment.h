// One PKIOperation, step by step. Each step writes one audit line; the first
// step that fails ends the exchange with a CertRep FAILURE whose failInfo and
// failInfoText say which step and why.
//
// enrollment.cc: the shared steps, PKCSReq and RenewalReq.
// enrollment_challenge.cc: the three phases of challenge validation.
// enrollment_hooks.cc: the Lua policy, external validation, status records.
// enrollment_lifecycle.cc: PENDING, CertPoll, GetCert, GetCRL.
#pragma once

#include "ca/ca_material.h"
#include "ca/csr.h"
#include "ca/issuer.h"
#include "ca/template_rules.h"
#include "challenge/challenge_claims.h"
#include "integrations/external_validation.h"
#include "integrations/status_records.h"
#include "policy/policy.h"
#include "scepter/config.h"
#include "scepter/store.h"
#include "service/audit.h"
#include "service/response.h"

namespace scepter {

// What a profile runs besides the core steps, built once per configuration
// generation (null where the profile does not use it).
struct ProfileHooks {
    std::unique_ptr<PolicyEngine> policy;
    std::unique_ptr<ExternalValidator> validator;
};

class Enrollment {
   public:
    Enrollment(const Config& cfg, const CaMaterial& ca, const AuditLog& audit, Store& store, const Profile& profile,
               const ProfileHooks& hooks, StatusRecords* status, AuditContext& ctx);

    Response run(const Bytes& der);

   private:
    // audit bookkeeping
    void begin(const char* id, const char* step);
    void passed(const std::string& detail = "", const AuditFields& fields = {});
    Response failed(FailInfo info, const std::string& why, const ScepAttributes& attrs);
    Response pki_response(Bytes body, const char* status, const AuditFields& fields = {});

    // shared steps
    void verify_message(const Bytes& der);
    Bytes open_request_envelope();
    CsrInfo check_csr(const Bytes& der);
    Response dispatch();

    // PKCSReq and RenewalReq
    Response enroll(bool renewal);
    void check_challenge(const CsrInfo& csr);
    void check_static_challenge(const std::string& password);
    void check_one_time_challenge(const ChallengeRecord& rec, const std::string& password, const CsrInfo& csr);
    void check_renewal(const CsrInfo& csr);
    Issued issue(const Template& t, const CsrInfo& csr);
    Response send_certificate(X509* cert);
    void supersede_old_certificate();

    // the lifecycle (enrollment_lifecycle.cc)
    Response make_pending(const Template& t, const CsrInfo& csr);
    Response answer_poll(const PendingRequest& pending);
    Response cert_poll();
    Response get_cert();
    Response get_crl();
    void check_same_requester(const PendingRequest& pending);

    void record_failure(const ScepFailure& f);

    // hooks (enrollment_hooks.cc)
    const Template& apply_policy(const CsrInfo& csr, const Template& chosen, bool renewal);
    void validate_externally(const CsrInfo& csr);
    void notify_success(const Issued& issued, const CsrInfo& csr);
    void notify_failure(const ScepFailure& f);
    void status_begin();
    void status_success(const Issued& issued);
    void status_failure(const ScepFailure& f);
    void status_finish(bool succeeded, const std::map<std::string, std::string>& fields);

    const Config& cfg_;
    const CaMaterial& ca_;
    const AuditLog& audit_;
    Store& store_;
    const Profile& profile_;
    const ProfileHooks& hooks_;
    StatusRecords* status_;
    AuditContext& ctx_;
    Response resp_;
    const char* step_id_ = "";
    const char* step_ = "";
    SignedMessage msg_;
    ContentCipher cipher_ = ContentCipher::aes256;
    std::string old_serial_;  // the certificate a renewal replaces
    Claims claims_;           // what the consumed one-time challenge was bound to
    Bytes csr_der_;           // for the validation service's notifications
    std::optional<std::vector<std::pair<std::string, std::string>>> policy_sans_;  // the policy's SAN rewrite
    bool policy_pending_ = false;  // the policy asked for an administrator's approval
    bool status_begun_ = false;    // a status record is open for this transaction
    std::string notification_ = "none";  // what the validation service was told: sent | failed: why | none
};

}  // namespace scepter
