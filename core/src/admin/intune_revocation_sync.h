// Intune's revocation sync (PkiConnectorFEService), one round: download the
// revocation requests Intune holds for this CA, revoke each certificate
// through the admin revocation path (store, then one CRL; OCSP answers
// follow the store), and upload one result per request.
//
//   download  POST .../CertificateAuthorityRequests/downloadRevocationRequests
//             {"downloadParameters":{"maxRequests":N,"issuerName":"<CA subject>"}}
//             answered {"value":[{"requestContext","serialNumber","issuerName","caConfiguration"}]}
//   upload    POST .../CertificateAuthorityRequests/uploadRevocationResults
//             {"results":[{"requestContext","succeeded","errorCode","errorMessage"}]}
//             answered {"value":true}
//
// errorCode is the name of the contract's CARequestErrorCode (as the C#
// library sends it): "None" when the certificate is revoked, whether by
// this round or earlier (the state Intune asked for holds, so a retry
// would change nothing); "CertificateNotFoundError" for a serial this CA
// never issued (or another issuerName); "ParameterDataInvalidError" for a
// serial that is not hex (or a serial or requestContext too long to echo); "ServiceUnavailableException" when the store
// failed (Intune may ask again).
#pragma once

#include "audit/audit.h"
#include "ca/ca_material.h"
#include "integrations/intune/intune_session.h"
#include "scepter/config.h"
#include "scepter/store.h"

#include <string>
#include <vector>

namespace scepter {

// Intune sends no reason: the device left management or its profile was
// removed, which RFC 5280 calls cessationOfOperation.
constexpr int kIntuneRevocationReason = 5;

struct RevocationSyncEnv {
    const Config& cfg;
    const CaMaterial& ca;
    const AuditLog& audit;
    std::string profile;
    std::string user_agent;  // names this process, so the service can tell pollers apart
};

struct RevocationResult {
    std::string request_context;
    std::string serial;  // as Intune sent it
    bool succeeded = false;
    std::string error_code;  // CARequestErrorCode's name
    std::string error_message;
    std::string transaction_id;  // the certificate's enrollment, when found
};

// The request bodies, exactly as POSTed (exposed for tests).
std::string revocation_download_body(int max_requests, const std::string& issuer_name);
std::string revocation_upload_body(const std::vector<RevocationResult>& results);

// One round. Returns how many requests Intune handed out. Audit lines and
// log lines go into `out`. Throws TargetError (token, discovery) or
// std::runtime_error (Intune's answer) when the round could not download or
// upload; revocations made before a failed upload stand.
std::size_t sync_revocations_once(IntuneSession& session, Store& store, const RevocationSyncEnv& env,
                                  Response& out);

}  // namespace scepter
