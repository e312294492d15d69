// Revoking certificates: the one implementation behind `scepter certs
// revoke` (scepter::Admin) and the admin location's ?operation=revoke
// (service/service_admin_revoke.cc), so that each writes the same
// cert_revoked audit lines and publishes the CRL the same way.
#pragma once

#include "audit/audit.h"
#include "ca/ca_material.h"
#include "scepter/config.h"
#include "scepter/store.h"

#include <optional>
#include <string>
#include <vector>

namespace scepter {

struct RevocationBatch {
    std::vector<IssuedCert> revoked;            // as found before
    std::vector<IssuedCert> revoked_meanwhile;  // somebody else got there first
    std::optional<CrlRecord> crl;               // one CRL after all of them (none when nothing was revoked)
    std::string crl_error;                      // revoked but no CRL: why publishing failed (the revocations stand)
};

// Revokes each certificate of `certs` (as the store returned them) with
// `reason` at `at`, then publishes one CRL listing them all, then writes one
// cert_revoked audit line per revocation with ctx (its profile and
// transaction ID are each certificate's). The caller loaded `ca` first, so
// an unreadable CA key changes nothing.
RevocationBatch revoke_certs(const Config& cfg, const CaMaterial& ca, Store& store, const AuditLog& audit,
                             const std::vector<IssuedCert>& certs, int reason, std::int64_t at, AuditContext ctx,
                             Response& resp);

}  // namespace scepter
