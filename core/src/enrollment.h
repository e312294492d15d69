// One PKIOperation, step by step. Each step writes one audit line; the first
// step that fails ends the exchange with a CertRep FAILURE whose failInfo and
// failInfoText say which step and why.
//
// enrollment.cc: the shared steps, PKCSReq and RenewalReq.
// enrollment_lifecycle.cc: PENDING, CertPoll, GetCert, GetCRL.
#pragma once

#include "audit.h"
#include "ca_material.h"
#include "csr.h"
#include "issuer.h"
#include "response.h"
#include "scepter/config.h"
#include "scepter/store.h"

namespace scepter {

class Enrollment {
   public:
    Enrollment(const Config& cfg, const CaMaterial& ca, const AuditLog& audit, Store& store, const Profile& profile,
               AuditContext& ctx);

    Response run(const Bytes& der);

   private:
    // audit bookkeeping
    void begin(const char* id, const char* step);
    void passed(const std::string& detail = "", const AuditFields& fields = {});
    Response failed(FailInfo info, const std::string& why, const ScepAttributes& attrs);
    Response pki_response(Bytes body, const char* status, const AuditFields& fields = {});

    // shared steps
    void verify_message(const Bytes& der);
    Bytes open_request_envelope();
    CsrInfo check_csr(const Bytes& der);
    Response dispatch();

    // PKCSReq and RenewalReq
    Response enroll(bool renewal);
    void check_challenge(const CsrInfo& csr);
    void check_renewal(const CsrInfo& csr);
    Issued issue(const Template& t, const CsrInfo& csr);
    Response send_certificate(X509* cert);
    void supersede_old_certificate();

    // the lifecycle (enrollment_lifecycle.cc)
    Response make_pending(const Template& t, const CsrInfo& csr);
    Response answer_poll(const PendingRequest& pending);
    Response cert_poll();
    Response get_cert();
    Response get_crl();
    void check_same_requester(const PendingRequest& pending);

    void record_failure(const ScepFailure& f);

    const Config& cfg_;
    const CaMaterial& ca_;
    const AuditLog& audit_;
    Store& store_;
    const Profile& profile_;
    AuditContext& ctx_;
    Response resp_;
    const char* step_id_ = "";
    const char* step_ = "";
    SignedMessage msg_;
    ContentCipher cipher_ = ContentCipher::aes256;
    std::string old_serial_;  // the certificate a renewal replaces
};

}  // namespace scepter
