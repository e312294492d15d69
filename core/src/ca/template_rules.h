// The template's rules applied to a CSR: which template (NDES's choice by key
// usage), which names and SANs it lets through, and whether the key is
// acceptable. Pure decisions, no signing: issuer.h signs what these granted.
#pragma once

#include "ca/csr.h"
#include "scepter/config.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace scepter {

// NDES's choice by the CSR's key usage (MSCEP SignatureTemplate,
// EncryptionTemplate, GeneralPurposeTemplate), or the profile's one template.
const Template& choose_template(const Config& cfg, const Profile& profile, const CsrInfo& csr);

// What the template lets through from the CSR. Throws ScepFailure(bad_request)
// for what it forbids, or silently drops it when the template says `drop`.
struct GrantedNames {
    std::vector<SubjectAttribute> subject;
    std::vector<SanEntry> sans;
    std::optional<std::string> sid;  // for the SID extension (1.3.6.1.4.1.311.25.2)
    std::optional<long long> validity_seconds;  // the CSR's ValidityPeriod, within max_validity_days
};

// Intune's SAN URI that carries the device's or user's SID (KB5014754).
inline constexpr const char* kSidTagPrefix = "tag:microsoft.com,2022-09-14:sid:";

// The SID text "S-1-<authority>-<sub>..." strictly: authority of 1 to 13
// digits, 1 to 15 sub-authorities of 1 to 10 digits each, each at most
// 4294967295, no leading zeros.
bool valid_sid_text(const std::string& sid);

// Whether a URI SAN passes the template's uri_prefixes (any when empty).
bool uri_prefix_allowed(const Template& t, const std::string& uri);
// policy_sid: a SID the policy returned, which takes the CSR's place.
GrantedNames grant_names(const Template& t, const CsrInfo& csr,
                         const std::optional<std::string>& policy_sid = std::nullopt);

// SANs a policy wrote instead of the CSR's, filtered by the template like
// the CSR's own (entries built from their text: index -1).
std::vector<SanEntry> rewritten_sans(const Template& t, const std::vector<std::pair<std::string, std::string>>& sans);

// Checks the CSR's key against the template. Throws ScepFailure(bad_request).
void check_key(const Template& t, const CsrInfo& csr);

}  // namespace scepter
