// The CSR half of a PolicyRequest: what verify_request sees of the request.
#pragma once

#include "ca/csr.h"
#include "policy/policy.h"

namespace scepter {

// Fills subject, subject_fields (first value of each short name), sans,
// key_usage (names: digitalSignature, keyEncipherment, ...),
// extended_key_usage (dotted OIDs), key_type and key_bits from the CSR.
// The caller adds the rest: transaction, profile, templates, claims, client.
PolicyRequest policy_request_from_csr(const CsrInfo& csr);

// The keyUsage bits as the names RFC 5280 gives them, in bit order.
std::vector<std::string> key_usage_names(uint32_t bits);

}  // namespace scepter
