// What a PKCS#10 request asks for, read once and checked against templates.
#pragma once

#include "scepter/config.h"
#include "scepter/ossl.h"
#include "scepter/pki_message.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace scepter {

struct SubjectAttribute {
    std::string short_name;  // CN, O, ... (or the dotted OID)
    int nid;
    std::string value;       // UTF-8
};

struct SanEntry {
    std::string type;   // dns, email, uri, ip, upn, or "other"
    std::string value;  // printable form
    int index = 0;      // position in the CSR's subjectAltName, to copy it exactly
};

struct CsrInfo {
    ossl::X509Req req;  // X509_REQ_get0_pubkey may be null (ca/csr_known_key.h): use key
    ossl::PKey key;
    Bytes der;
    std::vector<SubjectAttribute> subject;
    std::string subject_text;               // RFC 2253 one-line form
    std::optional<std::string> challenge;   // challengePassword attribute
    std::optional<uint32_t> key_usage;      // KU_* bits requested, if any
    std::vector<std::string> extended_key_usage;  // dotted OIDs requested
    std::vector<SanEntry> sans;
    bool requests_ca = false;               // basicConstraints CA:TRUE requested
    std::vector<std::string> ca_powers;     // keyCertSign, cRLSign, nameConstraints requested
    std::string key_type;                   // "rsa", "ec", or the OpenSSL name
    int key_bits = 0;
    Digest signature_digest = Digest::sha256;
    // The validity the CSR asks for through Microsoft's name-value pairs
    // (1.3.6.1.4.1.311.13.2.1: ValidityPeriod + ValidityPeriodUnits), in
    // seconds, with the request's own words for messages.
    std::optional<long long> requested_validity_seconds;
    std::string requested_validity_text;
};

// Seconds for "ValidityPeriodUnits ValidityPeriod" (Years, Months, Weeks,
// Days, Hours; a year is 365 days, a month 30). Throws ScepFailure(bad_request).
long long validity_request_seconds(const std::string& period, const std::string& units);

// The CSR's subjectAltName extension as requested (null when absent).
ossl::GeneralNames requested_sans(X509_REQ* req);

// Parses and verifies the CSR's self-signature, then checks its names and
// key (ca/csr_checks.h) against limits. Throws ScepFailure. signer: the
// message's signer certificate, whose key, when the CSR holds the same, is
// not decoded a second time (ca/csr_known_key.h).
CsrInfo read_csr(const Bytes& der, const InputLimits& limits = InputLimits{}, X509* signer = nullptr);

}  // namespace scepter
