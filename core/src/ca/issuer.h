// Certificates from templates: the template decides every extension; the
// CSR only proposes a subject, SANs and a key, and the template filters them.
#pragma once

#include "ca/ca_material.h"
#include "ca/csr.h"
#include "ca/template_rules.h"
#include "scepter/config.h"
#include "scepter/store.h"

namespace scepter {

struct Issued {
    ossl::X509Ptr cert;
    IssuedCert record;  // certificate fields; the caller adds the transaction
};

// The SID extension's value (KB5014754), DER: GeneralNames { otherName
// 1.3.6.1.4.1.311.25.2.1 [0] EXPLICIT OCTET STRING sid }.
Bytes sid_extension_der(const std::string& sid);

// Signs a new certificate with a fresh 128-bit random serial. crl_url, when
// set, goes into the CRL Distribution Points extension; ocsp_url and
// ca_issuers_url, when set, into Authority Information Access.
Issued issue_certificate(const Template& t, const CsrInfo& csr, const GrantedNames& names, const KeyPair& ca,
                         const std::string& crl_url, const std::string& ocsp_url = "",
                         const std::string& ca_issuers_url = "");

}  // namespace scepter
