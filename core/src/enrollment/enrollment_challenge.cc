// The challenge of a PKCSReq, in the three phases NDES's CRP logs:
// (1) challenge_lookup: the one-time challenge exists, is unused, unexpired
//     and was issued for this profile;
// (2) challenge_password: the password matches (constant time);
// (3) challenge_claims: the CSR matches what the challenge was issued for.
// A static challenge (NDES's UseSinglePassword) has phase 2 only. Each phase
// is its own audit step; failInfoText names the phase and an Intune-like code.
// A one-time challenge is consumed later, atomically (one of several racing
// workers wins), by the step that issues the certificate or parks the request:
// a request refused on the way (template, policy, validation service) leaves
// the device its challenge.
#include "challenge/challenge.h"
#include "enrollment/steps.h"
#include "scepter/log_ids.h"
#include "util/digest_hex.h"
#include "util/json_flat.h"

#include <openssl/crypto.h>

#include <ctime>

namespace scepter {
namespace {

Claims claims_of(const ChallengeRecord& rec) {
    Claims out;
    if (rec.claims_json.empty()) return out;
    for (const auto& [key, value] : parse_flat_json(rec.claims_json))
        if (value.is_string()) out[key] = value.text;
    return out;
}

ChallengeOutcome check_static_challenge(const StepEnv& env, const std::string& password) {
    env.steps.begin(SCEPTER_ID_CHALLENGE_CHECKED, "challenge_password");
    const std::string& expected = env.profile.challenge.static_sha256;
    // Digests of equal length, compared in constant time: no timing tells
    // how much of a guess was right.
    std::string got = digest_hex(password, EVP_sha256());
    if (CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0)
        throw ScepFailure(FailInfo::bad_request, "ChallengePasswordMismatch: the challenge password is not valid");
    env.steps.passed("", {{"kind", "static"}});
    return {};
}

ChallengeOutcome check_one_time_challenge(const StepEnv& env, const ChallengeRecord& rec, const std::string& password,
                                          const CsrInfo& csr) {
    std::int64_t now = std::time(nullptr);
    if (rec.profile != env.profile.name)
        throw ScepFailure(FailInfo::bad_request, "ChallengeProfileMismatch: the challenge was issued for another profile");
    if (rec.status != "active")
        throw ScepFailure(FailInfo::bad_request, "ChallengeAlreadyUsed: the challenge was used by transaction " +
                                                     rec.transaction_id);
    if (now >= rec.expires_at) throw ScepFailure(FailInfo::bad_request, "ChallengeExpired: the challenge has expired");
    env.steps.passed("", {{"challenge_id", rec.id}, {"user", rec.user}});

    env.steps.begin(SCEPTER_ID_CHALLENGE_CHECKED, "challenge_password");
    if (!challenge_matches(rec, password))
        throw ScepFailure(FailInfo::bad_request, "ChallengePasswordMismatch: the challenge password is not valid");
    env.steps.passed("", {{"kind", "one_time"}, {"challenge_id", rec.id}});

    env.steps.begin(SCEPTER_ID_CHALLENGE_CLAIMS, "challenge_claims");
    ChallengeOutcome outcome{claims_of(rec), rec.id, now};
    if (auto why = claims_mismatch(outcome.claims, csr)) throw ScepFailure(FailInfo::bad_request, *why);
    env.steps.passed("", {{"claims", rec.claims_json}});
    return outcome;
}

}  // namespace

ChallengeOutcome check_challenge(const StepEnv& env, const CsrInfo& csr) {
    std::string password = csr.challenge.value_or("");
    env.steps.begin(SCEPTER_ID_CHALLENGE_LOOKUP, "challenge_lookup");
    if (password.empty())
        throw ScepFailure(FailInfo::bad_request, "ChallengePasswordMissing: the CSR carries no challengePassword");
    const auto& challenge = env.profile.challenge;
    if (env.profile.intune && challenge.static_sha256.empty() && !challenge.one_time.enabled) {
        // Intune's own challenge (signed and encrypted by Intune, bound to the
        // device and the profile): only Intune can read it, in validateRequest.
        env.steps.passed("checked by Intune's validateRequest", {{"kind", "intune"}});
        return {};
    }
    std::string id = challenge.one_time.enabled ? challenge_id(password) : "";
    if (!id.empty()) {
        if (auto rec = env.store.find_challenge(id)) return check_one_time_challenge(env, *rec, password, csr);
    }
    if (challenge.static_sha256.empty()) {
        if (challenge.one_time.enabled)
            throw ScepFailure(FailInfo::bad_request, "ChallengeNotFound: no one-time challenge was issued with this password");
        throw ScepFailure(FailInfo::bad_request, "ChallengeNotConfigured: this profile has no challenge to check against");
    }
    return check_static_challenge(env, password);
}

// Expiry is judged at the lookup's time: a challenge valid when the device
// presented it stays usable while the request is checked.
ChallengeUse challenge_use(const StepEnv& env, const ChallengeOutcome& challenge) {
    return {challenge.one_time_id, env.ctx.transaction_id, challenge.checked_at};
}

void count_challenge_consumed(const StepEnv& env, const ChallengeOutcome& challenge) {
    if (!challenge.one_time_id.empty()) env.steps.metrics().challenge(env.profile.name, metrics::ch_consumed);
}

ScepFailure challenge_already_used() {
    return ScepFailure(FailInfo::bad_request, "ChallengeAlreadyUsed: another request used the challenge first");
}

}  // namespace scepter
