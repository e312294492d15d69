// Lua policies in the shape of NDES's INDESPolicy module interface:
// generate_challenge(ctx), verify_request(req) and notify(result).
//
// A policy file is compiled when the configuration loads (so `nginx -t`
// reports a syntax error with file and line). Evaluation runs in a sandbox
// (no io, os.execute or C-module loading) under PolicyLimits: instructions,
// memory, wall-clock time, and the subject length and worst-case cost the
// pattern functions accept (policy_bounded.cc). Lua states are pooled per engine (one configuration generation),
// one per concurrently evaluating thread, created lazily (so after fork);
// every evaluation gets a fresh environment, so nothing leaks between
// requests.
//
// The Lua side (policies/*.lua are examples):
//   function verify_request(req)   -- req: the fields of PolicyRequest; sans
//                                  -- as {{type=, value=}, ...}, key_usage and
//                                  -- extended_key_usage as arrays
//     return scep.allow([template]) | scep.pending([template]) | scep.deny(reason)
//          | {verdict = "allow"|"deny"|"pending", template =, reason =,
//             sans = {{type =, value =} or "type:value", ...}, sid = "S-1-5-..."}
//          | true | false, reason     -- nil is an error, never an allow
//   function generate_challenge(ctx) return {claim = value, ...} | nil, reason end
//   function notify(result) ... end  -- the fields of PolicyResult
// Available: the base functions minus load/loadfile/dofile/require/print,
// string (no dump), table, math, utf8, os.time/os.date/os.clock, a
// collectgarbage limited to collect/step/count/isrunning, and the helpers
// scep.allow/deny/pending, scep.oid(name) → dotted OID, scep.contains(list, v).
// The file's top level runs before every hook call: keep it to definitions.
#pragma once

#include "scepter/config.h"  // PolicyLimits

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace scepter {

// What verify_request sees (the Lua table `req`).
struct PolicyRequest {
    std::string transaction_id;
    std::string message_type;   // "PKCSReq", "RenewalReq"
    std::string profile;
    std::string subject;        // RFC 2253
    std::map<std::string, std::string> subject_fields;  // CN → value (first of each)
    std::vector<std::pair<std::string, std::string>> sans;  // (type, value): dns, email, uri, ip, upn
    std::vector<std::string> key_usage;           // digitalSignature, keyEncipherment, ...
    std::vector<std::string> extended_key_usage;  // dotted OIDs or short names
    std::string key_type;       // rsa, ec
    int key_bits = 0;
    std::map<std::string, std::string> claims;    // what the challenge was bound to
    std::string client_ip;
    std::string user_agent;
    std::string client_os;
    std::string signer_cert_pem;  // renewals: the certificate being renewed
    // The templates the profile names for NDES's three key-usage cases.
    std::map<std::string, std::string> templates;  // signature, encryption, general_purpose → name
};

struct PolicyDecision {
    enum class Verdict { allow, deny, pending } verdict = Verdict::allow;
    std::string template_name;  // allow/pending: empty = the profile's own choice
    std::string reason;         // deny: why (goes into failInfoText)
    // SAN rewriting: when set, replaces the SANs the certificate gets.
    std::optional<std::vector<std::pair<std::string, std::string>>> sans;
    // The SID for the SID extension (KB5014754), ahead of the CSR's SID SAN URI.
    std::optional<std::string> sid;
};

// What notify(result) sees, after issuance or failure.
struct PolicyResult {
    std::string transaction_id;
    std::string status;  // "SUCCESS", "FAILURE", "PENDING"
    std::string fail_info;
    std::string reason;
    std::string serial;
    std::string sha256;
};

// What generate_challenge(ctx) decided: claims to bind to the new challenge,
// or a refusal (the hook returned nil/false, and optionally a reason string).
struct ChallengeDecision {
    bool allowed = true;
    std::map<std::string, std::string> claims;  // allowed: bound to the challenge
    std::string reason;                          // refused: why
};

// A policy that cannot run: a Lua error, the instruction, memory or time limit.
class PolicyError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

class PolicyEngine {
   public:
    // Compiles the file; throws ConfigError("FILE:LINE: ...") on syntax errors.
    static std::unique_ptr<PolicyEngine> compile(const std::string& path, const PolicyLimits& limits);
    virtual ~PolicyEngine() = default;

    // All calls are thread-safe. Each throws PolicyError when the policy
    // fails (a Lua error, a limit, a malformed return value); a failed call
    // leaves nothing behind, the next one runs normally.
    //
    // Without a verify_request hook the answer is allow, template empty.
    virtual PolicyDecision verify_request(const PolicyRequest& req) = 0;
    // generate_challenge(ctx) returns a table of claims to bind to the new
    // challenge, or nil/false plus a reason string to refuse. nullopt: the
    // policy has no generate_challenge hook.
    virtual std::optional<ChallengeDecision> generate_challenge(
        const std::map<std::string, std::string>& ctx) = 0;
    // Without a notify hook this does nothing.
    virtual void notify(const PolicyResult& result) = 0;
    // "verify_request", "generate_challenge" or "notify": the file defines it.
    virtual bool has_hook(const std::string& name) const = 0;
};

}  // namespace scepter
