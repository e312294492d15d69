// The CRL comes after the revocations: the store is the truth, the CRL a
// signed copy of it. When signing fails the revocations stand and the CRL
// catches up at its next publication. A batch signs once, not per certificate.
#include "admin/revocation.h"

#include "ca/crl.h"
#include "scepter/log_ids.h"

namespace scepter {

RevocationBatch revoke_certs(const Config& cfg, const CaMaterial& ca, Store& store, const AuditLog& audit,
                             const std::vector<IssuedCert>& certs, int reason, std::int64_t at, AuditContext ctx,
                             Response& resp) {
    RevocationBatch out;
    for (const IssuedCert& cert : certs) {
        if (store.revoke(cert.serial_hex, reason, at)) {
            out.revoked.push_back(cert);
        } else {
            out.revoked_meanwhile.push_back(cert);
        }
    }
    if (out.revoked.empty()) return out;
    try {
        out.crl = publish_crl(cfg, ca, store);
    } catch (const std::exception& e) {
        out.crl_error = e.what();
    }
    std::string crl_number = out.crl ? std::to_string(out.crl->number) : "";
    for (const IssuedCert& cert : out.revoked) {
        ctx.profile = cert.profile;
        ctx.transaction_id = cert.transaction_id;
        audit.step(ctx, SCEPTER_ID_CERT_REVOKED, "cert_revoked", true, "", resp,
                   {{"serial", cert.serial_hex}, {"reason", std::to_string(reason)}, {"crl_number", crl_number}});
    }
    return out;
}

}  // namespace scepter
