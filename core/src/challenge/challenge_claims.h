// Phase 3 of challenge validation: does the CSR match what its one-time
// challenge was issued for? The claims mirror what Intune binds into its
// challenges; the failure codes mirror Intune's so that admins who know
// one know the other.
#pragma once

#include "ca/csr.h"
#include "scepter/challenge.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace scepter {

// Claim keys: subject (exact, RFC 2253), subject_pattern (ECMAScript regex,
// whole subject), sans (comma-separated type:value, the CSR's set must be
// equal), key_usage (comma-separated names, equal), extended_key_usage
// (comma-separated names or OIDs, all present), min_key_size (bits).
const std::vector<std::string>& claim_keys();

// nullopt when the CSR matches; else "Code: explanation".
std::optional<std::string> claims_mismatch(const Claims& claims, const CsrInfo& csr);

// The claims as the flat JSON object the store keeps.
std::string claims_to_json(const Claims& claims);

}  // namespace scepter
