// The steps of one PKIOperation and the values they hand each other. Each
// step takes what it needs and returns its result; each writes its audit line
// through the StepRecorder and reports a refusal by throwing ScepFailure,
// which ends the exchange with a CertRep FAILURE naming the step.
//
// enrollment_message.cc: the message, its envelope, the CSR.
// enrollment_challenge.cc: the PKCSReq's challenge.
// enrollment.cc: the renewal check, issuing, the certificate reply.
// enrollment_hooks.cc: the template decision (and the Lua policy), the
//   external validation, and the reports (OutcomeReports).
// enrollment_lifecycle.cc: PENDING, CertPoll, GetCert, GetCRL.
// enrollment_replay.cc: the same request again gets the same certificate.
#pragma once

#include "ca/ca_material.h"
#include "ca/csr.h"
#include "ca/issuer.h"
#include "challenge/challenge_claims.h"
#include "enrollment/step_recorder.h"
#include "integrations/external_validation.h"
#include "policy/policy.h"
#include "scepter/config.h"
#include "scepter/store.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace scepter {

// What a profile runs besides the core steps, built once per configuration
// generation (null where the profile does not use it).
struct ProfileHooks {
    std::unique_ptr<PolicyEngine> policy;
    std::unique_ptr<ExternalValidator> validator;
};

// What every step may use: the configuration generation, the store and the
// audit bookkeeping. Nothing in it is a step's result.
struct StepEnv {
    const Config& cfg;
    const CaMaterial& ca;
    Store& store;
    const Profile& profile;
    const ProfileHooks& hooks;
    AuditContext& ctx;
    StepRecorder& steps;
};

// ---- the values the steps hand on ----------------------------------------

// A pkiMessage whose signature, attributes and digest were checked.
struct VerifiedMessage {
    const SignedMessage& msg;  // Enrollment::run keeps it, for a FAILURE's attributes
    MessageType type;
};

// The request's pkcsPKIEnvelope, opened.
struct OpenedEnvelope {
    Bytes content;
    ContentCipher cipher;
};

// A PKCSReq's challenge, checked but not yet used up: a one-time challenge is
// consumed only by the step that issues (or parks) the request.
struct ChallengeOutcome {
    Claims claims;             // what the one-time challenge was bound to
    std::string one_time_id;   // the one-time challenge to consume; empty for a static one
    std::int64_t checked_at = 0;
};

// A RenewalReq's signer certificate, checked.
struct RenewalCheck {
    std::string old_serial;  // the certificate the renewal replaces
};

using SanRewrite = std::vector<std::pair<std::string, std::string>>;

// Which template issues, and what the policy said besides.
struct TemplateDecision {
    const Template* tmpl = nullptr;
    std::optional<SanRewrite> sans;  // the policy's SAN rewrite
    std::optional<std::string> sid;  // the policy's SID for the SID extension
    bool pending = false;            // the policy asked for an administrator's approval
};

// ---- enrollment_message.cc --------------------------------------------------

// The transactionID's and senderNonce's length and characters, for a message
// verified or not (a FAILURE echoes them, the audit trail and the log name
// the transaction): throws std::invalid_argument, which is HTTP 400.
void check_attribute_bounds(const InputLimits& limits, const ScepAttributes& a);
// message_parsed, signature_verified.
VerifiedMessage verify_message(const StepEnv& env, const SignedMessage& msg);
// envelope_decrypted.
OpenedEnvelope open_request_envelope(const StepEnv& env, const SignedMessage& msg);
// csr_checked. signer: the message's, whose key the CSR usually holds too (decoded once).
CsrInfo check_csr(const StepEnv& env, const Bytes& der, X509* signer);
// The library context a content cipher needs (single DES lives in the legacy provider).
OSSL_LIB_CTX* cipher_libctx(const StepEnv& env, ContentCipher cipher);

// ---- enrollment_challenge.cc ----------------------------------------------

// challenge_lookup, challenge_password, challenge_claims.
ChallengeOutcome check_challenge(const StepEnv& env, const CsrInfo& csr);
// The one-time challenge to use up, in the store transaction of the step
// that issues or parks the request (none for a static challenge).
ChallengeUse challenge_use(const StepEnv& env, const ChallengeOutcome& challenge);
// The FAILURE when that transaction finds the challenge gone (the store
// threw ChallengeAlreadyUsed: a racing request used it first).
ScepFailure challenge_already_used();
// Runs `commit(use)`, the store transaction that uses the challenge up, and
// turns a race lost to another request into that FAILURE.
template <class Commit>
auto commit_using_challenge(const StepEnv& env, const ChallengeOutcome& challenge, Commit&& commit) {
    try {
        return commit(challenge_use(env, challenge));
    } catch (const ChallengeAlreadyUsed&) {
        throw challenge_already_used();
    }
}
// After that transaction committed: the metrics' consumed challenges.
void count_challenge_consumed(const StepEnv& env, const ChallengeOutcome& challenge);

// ---- enrollment.cc ----------------------------------------------------------

// renewal_checked.
RenewalCheck check_renewal(const StepEnv& env, const SignedMessage& msg, const CsrInfo& csr);
// What the template grants the CSR; throws for what it refuses.
GrantedNames granted_names(const TemplateDecision& d, const CsrInfo& csr);
// Which request an issuance answers: its message type and, for a PKCSReq or
// RenewalReq issued directly, its fingerprint (empty for an approved pending one).
struct RequestIdentity {
    int message_type = 0;
    std::string fingerprint;
};
// cert_issued: the template's checks, the challenge consumed, signed, stored.
// Throws RequestAlreadyIssued when a copy of this request was stored first.
Issued issue(const StepEnv& env, const TemplateDecision& d, const CsrInfo& csr, const RequestIdentity& request,
             const ChallengeOutcome& challenge);
// cert_revoked.
void supersede_old_certificate(const StepEnv& env, const RenewalCheck& renewed);
// response_sent with a SUCCESS carrying the certificate.
Response send_certificate(const StepEnv& env, const SignedMessage& msg, ContentCipher cipher, X509* cert);

// ---- enrollment_hooks.cc ----------------------------------------------------

// template_chosen, then policy_decided when the profile has a policy.
// `renewed_by` is the signer of a RenewalReq (null for a PKCSReq).
TemplateDecision decide_template(const StepEnv& env, const CsrInfo& csr, const Claims& claims, X509* renewed_by);
// external_validation when the profile has a validation service.
void validate_externally(const StepEnv& env, const CsrInfo& csr);

// ---- enrollment_lifecycle.cc ------------------------------------------------

// request_pending: the template's checks, the challenge consumed, parked.
Response make_pending(const StepEnv& env, const VerifiedMessage& m, ContentCipher cipher, const TemplateDecision& d,
                      const CsrInfo& csr, const ChallengeOutcome& challenge);
// poll_answered, for a CertPoll or a request re-sent under its transaction ID.
Response answer_poll(const StepEnv& env, const VerifiedMessage& m, ContentCipher cipher, const PendingRequest& pending);
Response cert_poll(const StepEnv& env, const VerifiedMessage& m);

// ---- enrollment_replay.cc ----------------------------------------------------

// What makes a PKCSReq or RenewalReq the same request again: SHA-256 (hex)
// over its message type, signer certificate and CSR.
std::string request_fingerprint(const VerifiedMessage& m, const CsrInfo& csr);
// replay_answered: the certificate `earlier` issued for this very request, again.
Response answer_replayed_request(const StepEnv& env, const VerifiedMessage& m, ContentCipher cipher,
                                 const IssuedCert& earlier);
Response get_cert(const StepEnv& env, const VerifiedMessage& m);
Response get_crl(const StepEnv& env, const VerifiedMessage& m);

}  // namespace scepter
