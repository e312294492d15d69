// The template's rules applied to a CSR: which template (NDES's choice by key
// usage), which names and SANs it lets through, and whether the key is
// acceptable. Pure decisions, no signing: issuer.h signs what these granted.
#pragma once

#include "ca/csr.h"
#include "scepter/config.h"

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
};
GrantedNames grant_names(const Template& t, const CsrInfo& csr);

// SANs a policy wrote instead of the CSR's, filtered by the template like
// the CSR's own (entries built from their text: index -1).
std::vector<SanEntry> rewritten_sans(const Template& t, const std::vector<std::pair<std::string, std::string>>& sans);

// Checks the CSR's key against the template. Throws ScepFailure(bad_request).
void check_key(const Template& t, const CsrInfo& csr);

}  // namespace scepter
