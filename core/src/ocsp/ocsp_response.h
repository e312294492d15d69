// OCSP responses (RFC 6960 §4.2): the signed BasicOCSPResponse for the
// certificates asked about, and the unsigned error statuses.
#pragma once

#include "ca/ocsp_signer.h"
#include "ocsp/ocsp_request.h"
#include "scepter/pki_message.h"

#include <cstdint>
#include <string>
#include <vector>

namespace scepter {

enum class CertState { good, revoked, unknown };

struct CertStatus {
    CertState state = CertState::unknown;
    std::int64_t revoked_at = 0;
    int reason = 0;  // RFC 5280 CRLReason; 0 (unspecified) is left out, as in the CRL
};

struct SignedOcsp {
    Bytes der;  // the whole OCSPResponse
    std::int64_t this_update = 0;
    std::int64_t next_update = 0;
};

// One SingleResponse per item of q, in its order, each echoing the
// request's CertID; the nonce echoed when q has one; thisUpdate `now`,
// nextUpdate next_update_hours later but never past the signer's
// certificate. Signed by the signer, its certificate included, the
// responder named by key hash (RFC 5019 §2.2.3).
SignedOcsp sign_ocsp_response(const OcspQuery& q, const std::vector<CertStatus>& statuses, const OcspSigner& signer,
                              int next_update_hours, std::int64_t now);

// An OCSPResponse with only a status (malformedRequest, internalError,
// tryLater, unauthorized: OCSP_RESPONSE_STATUS_*), unsigned as RFC 6960
// §4.2.1 has it.
Bytes ocsp_status_response(int status);

}  // namespace scepter
