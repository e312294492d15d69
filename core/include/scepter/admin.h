// The administration API: one implementation of every admin operation, which
// the `scepter` command-line tool calls and which the web servers' admin
// locations (the JSON challenge API, NDES's mscep_admin page) share, so that
// an operation runs the same checks and leaves the same store rows and audit
// lines whichever face it came through.
//
// Exceptions cross this API (its callers are C++ and print them):
//   ConfigError          (config.h) the configuration or a policy file does not load
//   ChallengeRefused     (challenge.h) no such profile, one-time challenges off, the policy refused
//   ChallengeQuotaFull   (store.h) the requester holds max_per_requester challenges already
//   StoreError           (store.h) the store cannot be opened or written
//   std::invalid_argument  an input the caller should have refused: a status
//                        state, a notification URL that is not http(s)
//   std::runtime_error   anything else: the store's directory is missing, the
//                        CA key is unreadable, the audit log cannot be opened,
//                        a policy fails, a CSR does not parse
#pragma once

#include "scepter/challenge.h"
#include "scepter/config.h"
#include "scepter/log_level.h"
#include "scepter/ossl.h"
#include "scepter/store.h"

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace scepter {

// Where the log lines of an operation go (a policy that failed; the audit
// line when the configuration has no audit_log). `line` starts with its
// message ID. Null: dropped.
using AdminLogSink = std::function<void(scepter_log_level level, const std::string& line)>;

// What revoke_cert did.
struct Revocation {
    enum class Result { revoked, unknown, already_revoked, revoked_meanwhile };
    Result result = Result::unknown;
    IssuedCert cert;               // as found before (already_revoked: since when and why)
    std::optional<CrlRecord> crl;  // revoked: the CRL published at once
    std::string crl_error;         // revoked but no CRL: why publishing failed (the revocation stands)
};

// What revoke_matching did.
struct BulkRevocation {
    std::vector<IssuedCert> revoked;            // as found before
    std::vector<IssuedCert> revoked_meanwhile;  // matched, but somebody else revoked it first
    std::optional<CrlRecord> crl;               // one CRL after all of them (none when nothing was revoked)
    std::string crl_error;                      // revoked but no CRL: why publishing failed (the revocations stand)
};

// What decide_request did: decided, or why not (request empty: unknown;
// else it is no longer pending and says what it is).
struct RequestDecision {
    bool decided = false;
    std::optional<PendingRequest> request;
};

// A policy tried offline against a CSR, as `scepter policy test` does.
struct PolicyTrial {
    std::string policy_path;
    std::string profile = "default";
    std::string profile_template;                    // the profile's own choice, if it has one
    std::map<std::string, std::string> templates;    // signature, encryption, general_purpose
    Claims claims;                                   // req.claims
    std::vector<unsigned char> csr;                  // PEM or DER
    PolicyLimits limits;                             // the profile's, with --config
};

struct PolicyVerdict {
    std::string verdict;        // allow, deny, pending
    std::string template_name;  // the policy's choice, else the trial's profile_template
    std::string reason;
    std::optional<std::vector<std::string>> sans;  // rewritten by the policy: "type:value"
};

// Compiles the policy as the servers do and runs verify_request on the CSR.
PolicyVerdict test_policy(const PolicyTrial& trial);

class Admin {
   public:
    // Loads the configuration (paths resolve against its directory); the
    // store, CA key, policies and audit log are opened when first needed.
    explicit Admin(const std::string& config_path, AdminLogSink log = nullptr);
    ~Admin();
    Admin(const Admin&) = delete;
    Admin& operator=(const Admin&) = delete;

    const Config& config() const noexcept;

    // One-time challenges. issue_challenge refuses when the profile has no
    // challenge.one_time, asks the profile's policy (generate_challenge may
    // add claims or refuse), stores the challenge under the profile's quota
    // (creating the store) and writes the challenge_issued audit line with
    // context operation `operation`.
    IssuedChallenge issue_challenge(const ChallengeOrder& order, const std::string& operation = "cli");
    // Deletes the expired challenges; how many.
    std::size_t purge_expired_challenges();
    // Deletes the unused challenges of `requester` (everyone's when empty),
    // expired or not, so that its quota is free again; audited; how many.
    std::size_t withdraw_unused_challenges(const std::string& requester);

    // Certificates. revoke_cert loads the CA key before changing anything,
    // then revokes and publishes a CRL listing it.
    std::vector<IssuedCert> list_certs(std::size_t limit);
    std::optional<IssuedCert> find_cert(const std::string& serial_or_thumbprint);
    Revocation revoke_cert(const std::string& serial_or_thumbprint, int reason);
    // Every unrevoked, unexpired certificate that matches (Store::find_certs),
    // revoked through the same path as revoke_cert: one cert_revoked audit
    // line each, then ONE CRL for the lot. Nothing matched: nothing written.
    BulkRevocation revoke_matching(const CertMatch& match, int reason);
    CrlRecord publish_crl();

    // Requests waiting for approval. status "" lists every status.
    std::vector<PendingRequest> list_requests(const std::string& status, std::size_t limit);
    std::optional<PendingRequest> find_request(const std::string& transaction_id);
    RequestDecision decide_request(const std::string& transaction_id, bool approve, const std::string& reason);

    // A trial of the profile's policy with its templates; the caller adds
    // the CSR and may override the rest. std::runtime_error for no such profile.
    PolicyTrial policy_trial(const std::string& profile) const;

    // `scepter intune check`: the profile's Intune conversation without a
    // device, stage by stage (Graph token, discovery, Intune token,
    // validateRequest for a throw-away CSR), each reported as it ends; stops
    // at the first failed stage. No token is ever put into a stage's detail.
    // std::runtime_error for no such profile or one without an intune block.
    struct IntuneStage {
        std::string name;
        bool ok = false;
        std::string detail;
    };
    std::vector<IntuneStage> check_intune(const std::string& profile,
                                          const std::function<void(const IntuneStage&)>& report);

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The status records (NDES's .CRS files) under a status directory.
struct StatusRecord {
    std::string transaction_id;
    std::string state;                          // processing, succeeded, failed
    std::map<std::string, std::string> fields;  // empty when unreadable
    std::string unreadable;                     // why the record could not be read
};

// Where status retry sends the notifications again.
struct NotificationTargets {
    std::string success_url;
    std::string failure_url;
    std::vector<std::string> headers;  // "Name: value"
    std::string caller_info = "Scepter";
    std::string ca_file;
    int timeout_ms = 5000;
};

// One record retry_notifications looked at.
struct NotificationRetry {
    enum class Result { sent, failed, unreadable, no_url };
    std::string transaction_id;
    bool succeeded = true;  // from succeeded/ (success notification) or failed/
    Result result = Result::sent;
    std::string why;        // failed, unreadable
};

class StatusDirectory {
   public:
    // Never creates the directory: std::runtime_error when it holds no
    // processing/, succeeded/ and failed/.
    explicit StatusDirectory(const std::string& dir);
    ~StatusDirectory();
    StatusDirectory(const StatusDirectory&) = delete;
    StatusDirectory& operator=(const StatusDirectory&) = delete;

    // state: processing, succeeded, failed or all (else std::invalid_argument).
    std::vector<StatusRecord> list(const std::string& state);
    // Every record of the transaction (two, should an interrupted move have left them).
    std::vector<StatusRecord> find(const std::string& transaction_id);
    // Sends again each notification recorded as `failed: ...` and records
    // the outcome; report hears of each record tried. Returns how many still
    // failed (or could not be read). std::invalid_argument for a bad URL.
    std::size_t retry_notifications(const NotificationTargets& targets,
                                     const std::function<void(const NotificationRetry&)>& report);

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A private key inside a PKCS#11 token, for signing in this process
// (`scepter init --ca-key-uri`): the URI checked as ca.key's is, then
// loaded through OpenSSL's pkcs11 engine with the PIN file's PIN. The key
// never leaves the token. Throws std::runtime_error (never naming the PIN).
ossl::PKey load_token_private_key(const TokenKeySettings& settings);

}  // namespace scepter
