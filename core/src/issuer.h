// Certificates from templates: the template decides every extension; the
// CSR only proposes a subject, SANs and a key, and the template filters them.
#pragma once

#include "ca_material.h"
#include "csr.h"
#include "scepter/config.h"
#include "scepter/store.h"

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

struct Issued {
    ossl::X509Ptr cert;
    IssuedCert record;  // certificate fields; the caller adds the transaction
};

// Signs a new certificate with a fresh 128-bit random serial. crl_url, when
// set, goes into the CRL Distribution Points extension.
Issued issue_certificate(const Template& t, const CsrInfo& csr, const GrantedNames& names, const KeyPair& ca,
                         const std::string& crl_url);

}  // namespace scepter
