// One-time challenges as the administration API (scepter/admin.h) and the
// admin locations hand them out: what is asked for, what comes back, and
// the refusal.
#pragma once

#include "scepter/store.h"

#include <map>
#include <stdexcept>
#include <string>

namespace scepter {

// What the CSR must match, by claim key: subject (exact, RFC 2253),
// subject_pattern (ECMAScript regex, whole subject), sans (comma-separated
// type:value), key_usage, extended_key_usage, min_key_size. A policy's
// generate_challenge may add keys of its own; they are kept and audited.
using Claims = std::map<std::string, std::string>;

// A request for one challenge.
struct ChallengeOrder {
    std::string profile;
    std::string user;           // whom it is for
    std::string requester;      // who asks (admin user, "cert:DN", "ip:ADDR"): the quota counts per requester
    Claims claims;
    int validity_minutes = 0;   // 0: the profile's challenge.one_time.validity_minutes
};

struct IssuedChallenge {
    std::string challenge;   // what the user or device types; shown once, never stored
    ChallengeRecord record;  // what the store keeps: ID, hash, claims (the policy's too), expiry
};

// A challenge that is not issued: the profile is unknown or has no
// challenge.one_time, or its policy's generate_challenge refused or failed
// (NDES: insufficient permission).
class ChallengeRefused : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace scepter
