// One-time challenges (NDES's mscep_admin passwords): generation and the
// form a device types. A challenge is 32 characters of [A-Za-z0-9] only
// (Windows' enrollment UI, MDM payloads and shell scripts all mangle other
// characters), all of them secret: 32 * log2(62) = 190 bits. Its ID, which
// the store keys the record on and the audit trail names, is derived from
// it by a one-way function, so that no log or database row carries any
// part of a challenge. The store keeps only the SHA-256 of the whole
// challenge, compared in constant time.
#pragma once

#include "scepter/challenge.h"
#include "scepter/store.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace scepter {

inline constexpr std::size_t kChallengeLength = 32;
// Hex digits of the ID: 80 bits, so that IDs of live challenges never collide.
inline constexpr std::size_t kChallengeIdLength = 20;

// A fresh challenge and its record (status active, expires_at = now +
// validity_minutes). Characters are rejection-sampled from RAND_bytes, so
// each is uniform over the 62. Throws std::invalid_argument when
// validity_minutes is not positive, OpenSslError when RAND_bytes fails.
IssuedChallenge make_challenge(const std::string& profile, const std::string& user, const std::string& requester,
                               std::int64_t now, int validity_minutes, const std::string& claims_json);

// The challenge's ID: the first 20 hex digits of SHA-256 over a label and
// the challenge (never the challenge's own characters). "" when the string
// does not have a challenge's form (32 characters of [A-Za-z0-9]): a static
// password or a typo is then not looked up at all.
std::string challenge_id(const std::string& challenge);

// Whether `challenge` hashes to the record's secret_sha256, compared in
// constant time. Says nothing about status or expiry.
bool challenge_matches(const ChallengeRecord& record, const std::string& challenge);

}  // namespace scepter
