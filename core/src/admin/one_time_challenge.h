// Issuing a one-time challenge: the one implementation behind the JSON admin
// API, NDES's mscep_admin page (service/service_admin.cc) and `scepter
// challenge` (scepter::Admin), so that each runs the policy's
// generate_challenge, the quota and the refusals, and writes the same
// challenge_issued audit line.
#pragma once

#include "audit/audit.h"
#include "policy/policy.h"
#include "scepter/challenge.h"
#include "scepter/config.h"
#include "scepter/store.h"

namespace scepter {

// Throws ChallengeRefused unless the profile issues one-time challenges.
// Checked first, before the caller opens the store.
void require_one_time(const Profile& profile);

// NDES's INDESPolicy::GenerateChallenge: the profile's policy (null: none)
// may bind claims to the challenge, or refuse (ChallengeRefused). A policy
// that fails is logged into resp and refuses.
Claims policy_claims(const Profile& profile, PolicyEngine* policy, const ChallengeOrder& order, Response& resp);

// The whole issuance: refusal, policy, quota (ChallengeQuotaFull), store and
// the audit line, written with ctx (its transaction_id is cleared).
IssuedChallenge issue_one_time(const Profile& profile, PolicyEngine* policy, Store& store, const AuditLog& audit,
                               const ChallengeOrder& order, AuditContext& ctx, Response& resp);

}  // namespace scepter
