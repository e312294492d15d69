#include "admin/one_time_challenge.h"

#include "challenge/challenge.h"
#include "challenge/challenge_claims.h"
#include "scepter/log_ids.h"
#include "scepter/text.h"

#include <ctime>

namespace scepter {

void require_one_time(const Profile& profile) {
    if (!profile.challenge.one_time.enabled)
        throw ChallengeRefused("one-time challenges are not enabled on profile '" + profile.name + "'");
}

Claims policy_claims(const Profile& profile, PolicyEngine* policy, const ChallengeOrder& order, Response& resp) {
    if (policy == nullptr || !policy->has_hook("generate_challenge")) return order.claims;
    std::map<std::string, std::string> in = order.claims;
    in["user"] = order.user;
    in["profile"] = profile.name;
    in["requester"] = order.requester;
    std::optional<ChallengeDecision> d;
    try {
        d = policy->generate_challenge(in);
    } catch (const PolicyError& e) {
        resp.log(SCEPTER_LOG_ERROR, SCEPTER_ID_POLICY_FAILED, std::string("generate_challenge: ") + e.what());
        throw ChallengeRefused("the policy could not decide");
    }
    if (d && !d->allowed) throw ChallengeRefused(d->reason.empty() ? "the policy refused" : d->reason);
    Claims claims = order.claims;
    if (d) claims.insert(d->claims.begin(), d->claims.end());
    return claims;
}

namespace {

// A refused challenge is in the trail too, so `scepter trace --failed` shows
// a requester whose quota is full or whom the policy turned down.
void audit_refusal(const AuditLog& audit, AuditContext& ctx, const ChallengeOrder& order, const std::string& why,
                   Response& resp) {
    ctx.transaction_id = "";
    audit.step(ctx, SCEPTER_ID_CHALLENGE_ISSUED, "challenge_issued", false, why, resp,
               {{"user", order.user}, {"requester", order.requester}});
}

}  // namespace

IssuedChallenge issue_one_time(const Profile& profile, PolicyEngine* policy, Store& store, const AuditLog& audit,
                               const ChallengeOrder& order, AuditContext& ctx, Response& resp) {
    require_one_time(profile);
    Claims claims;
    try {
        claims = policy_claims(profile, policy, order, resp);
    } catch (const ChallengeRefused& e) {
        audit_refusal(audit, ctx, order, std::string("PolicyDenied: ") + e.what(), resp);
        throw;
    }
    int validity = order.validity_minutes > 0 ? order.validity_minutes : profile.challenge.one_time.validity_minutes;
    std::int64_t now = std::time(nullptr);
    store.purge_challenges(now - 86400);  // expired a day ago: nothing left to audit on them
    IssuedChallenge c = make_challenge(profile.name, order.user, order.requester, now, validity, claims_to_json(claims));
    try {
        store.add_challenge(c.record, profile.challenge.one_time.max_per_requester, now);
    } catch (const ChallengeQuotaFull& e) {
        audit_refusal(audit, ctx, order, std::string("quota full: ") + e.what(), resp);
        throw;
    }
    ctx.transaction_id = "";
    audit.step(ctx, SCEPTER_ID_CHALLENGE_ISSUED, "challenge_issued", true, "", resp,
               {{"challenge_id", c.record.id}, {"user", order.user}, {"requester", order.requester},
                {"expires", iso8601_utc_millis(c.record.expires_at)}, {"claims", c.record.claims_json}});
    return c;
}

}  // namespace scepter
