#include "ocsp/ocsp_response.h"

#include "scepter/der.h"
#include "scepter/openssl_error.h"

#include <algorithm>

namespace scepter {
namespace {

ossl::Asn1Time asn1_time(std::int64_t t) {
    ossl::Asn1Time out(ASN1_GENERALIZEDTIME_set(nullptr, time_t(t)));
    check(out != nullptr, "ASN1_GENERALIZEDTIME_set");
    return out;
}

int ocsp_status(CertState s) {
    switch (s) {
        case CertState::good: return V_OCSP_CERTSTATUS_GOOD;
        case CertState::revoked: return V_OCSP_CERTSTATUS_REVOKED;
        case CertState::unknown: break;
    }
    return V_OCSP_CERTSTATUS_UNKNOWN;
}

}  // namespace

SignedOcsp sign_ocsp_response(const OcspQuery& q, const std::vector<CertStatus>& statuses, const OcspSigner& signer,
                              int next_update_hours, std::int64_t now) {
    clear_openssl_errors();
    SignedOcsp out;
    out.this_update = now;
    out.next_update = std::min(now + std::int64_t(next_update_hours) * 3600, signer.not_after);
    ossl::Asn1Time this_update = asn1_time(out.this_update);
    ossl::Asn1Time next_update = asn1_time(out.next_update);
    ossl::OcspBasicResp basic(OCSP_BASICRESP_new());
    check(basic != nullptr, "OCSP_BASICRESP_new");
    for (std::size_t i = 0; i < q.items.size(); ++i) {
        const CertStatus& s = statuses.at(i);
        bool revoked = s.state == CertState::revoked;
        ossl::Asn1Time revoked_at = revoked ? asn1_time(s.revoked_at) : nullptr;
        int reason = revoked && s.reason > 0 ? s.reason : OCSP_REVOKED_STATUS_NOSTATUS;
        check(OCSP_basic_add1_status(basic.get(), q.items[i].id, ocsp_status(s.state), reason, revoked_at.get(),
                                     this_update.get(), next_update.get()) != nullptr,
              "OCSP_basic_add1_status");
    }
    if (q.has_nonce) check(OCSP_copy_nonce(basic.get(), q.request.get()) == 1, "OCSP_copy_nonce");
    // The signer's certificate goes along (OCSP_basic_sign adds it unless
    // OCSP_NOCERTS): a relying party has the CA, not the responder.
    check(OCSP_basic_sign(basic.get(), signer.pair.cert.get(), signer.pair.key.get(),
                          ca_signature_digest(signer.pair.key.get()), nullptr, OCSP_RESPID_KEY) == 1,
          "OCSP_basic_sign");
    ossl::OcspResponse resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
    check(resp != nullptr, "OCSP_response_create");
    out.der = to_der(resp.get(), i2d_OCSP_RESPONSE);
    return out;
}

Bytes ocsp_status_response(int status) {
    clear_openssl_errors();
    ossl::OcspResponse resp(OCSP_response_create(status, nullptr));
    check(resp != nullptr, "OCSP_response_create");
    return to_der(resp.get(), i2d_OCSP_RESPONSE);
}

}  // namespace scepter
