// PENDING and CertPoll (RFC 8894 §3.3.3), GetCert and GetCRL (§3.3.4).
#include "ca/crl.h"
#include "codec/cert_rep.h"
#include "codec/der.h"
#include "enrollment/enrollment.h"
#include "scepter/log_ids.h"
#include "util/cert_serial.h"

#include <ctime>

namespace scepter {
namespace {

ossl::X509Ptr cert_from_der(const Bytes& der) {
    const unsigned char* p = der.data();
    return ossl::X509Ptr(d2i_X509(nullptr, &p, long(der.size())));
}

// GetCert and GetCRL name a certificate by IssuerAndSerialNumber; only
// certificates of our own CA can be asked about.
std::string requested_serial(const Bytes& content, X509* ca) {
    const unsigned char* p = content.data();
    ossl::IssuerAndSerial ias(d2i_PKCS7_ISSUER_AND_SERIAL(nullptr, &p, long(content.size())));
    if (!ias) throw ScepFailure(FailInfo::bad_request, "the content is not an IssuerAndSerialNumber");
    if (X509_NAME_cmp(ias->issuer, X509_get_subject_name(ca)) != 0)
        throw ScepFailure(FailInfo::bad_cert_id, "the issuer is not this CA");
    std::string hex = serial_hex(ias->serial);
    if (hex.empty()) throw ScepFailure(FailInfo::bad_request, "the serial number cannot be read");
    return hex;
}

}  // namespace

Response Enrollment::make_pending(const Template& t, const CsrInfo& csr) {
    begin(SCEPTER_ID_REQUEST_PENDING, "request_pending");
    PendingRequest p;
    p.transaction_id = ctx_.transaction_id;
    p.profile = profile_.name;
    p.template_name = t.name;
    p.message_type = msg_.attrs.message_type;
    p.subject = csr.subject_text;
    p.requester_ip = ctx_.client_ip;
    p.created_at = p.updated_at = std::time(nullptr);
    p.csr_der = csr.der;
    p.signer_der = to_der(msg_.signer.get(), i2d_X509);
    // Two copies of one request racing: the second becomes a poll.
    if (!store_.add_pending(p)) return answer_poll(*store_.find_pending(p.transaction_id));
    passed("waiting for an administrator's approval", {{"template", t.name}});
    return pki_response(cert_rep_pending(ca_, profile_, msg_.attrs), "PENDING");
}

void Enrollment::check_same_requester(const PendingRequest& pending) {
    ossl::X509Ptr original = cert_from_der(pending.signer_der);
    if (!original || EVP_PKEY_eq(X509_get0_pubkey(original.get()), X509_get0_pubkey(msg_.signer.get())) != 1)
        throw ScepFailure(FailInfo::bad_request, "the poll is not signed with the key of the pending request");
}

Response Enrollment::answer_poll(const PendingRequest& pending) {
    begin(SCEPTER_ID_POLL_ANSWERED, "poll_answered");
    check_same_requester(pending);
    if (pending.status == "pending") {
        passed("", {{"status", "pending"}});
        return pki_response(cert_rep_pending(ca_, profile_, msg_.attrs), "PENDING");
    }
    if (pending.status == "denied")
        throw ScepFailure(FailInfo::bad_request, "an administrator denied the request" +
                                                     (pending.reason.empty() ? "" : ": " + pending.reason));
    if (pending.status == "issued") {
        auto record = store_.find_cert(pending.serial_hex);
        if (!record) throw ScepFailure(FailInfo::bad_cert_id, "the issued certificate is no longer in the store");
        passed("", {{"status", "issued"}});
        return send_certificate(cert_from_der(record->der).get());
    }
    auto t = cfg_.templates.find(pending.template_name);
    if (t == cfg_.templates.end())
        throw ScepFailure(FailInfo::bad_request, "template '" + pending.template_name + "' no longer exists");
    passed("", {{"status", "approved"}});
    CsrInfo csr = read_csr(pending.csr_der);
    try {
        Issued issued = issue(t->second, csr);
        return send_certificate(issued.cert.get());
    } catch (const PendingAlreadyIssued&) {
        // Another worker answered a simultaneous poll first: send its certificate.
        auto now_issued = store_.find_pending(pending.transaction_id);
        auto record = now_issued ? store_.find_cert(now_issued->serial_hex) : std::nullopt;
        if (!record) throw;
        return send_certificate(cert_from_der(record->der).get());
    }
}

Response Enrollment::cert_poll() {
    open_request_envelope();  // IssuerAndSubject; the transaction ID names the request
    auto pending = store_.find_pending(ctx_.transaction_id);
    if (!pending) {
        begin(SCEPTER_ID_POLL_ANSWERED, "poll_answered");
        throw ScepFailure(FailInfo::bad_cert_id, "no pending request has this transaction ID");
    }
    return answer_poll(*pending);
}

Response Enrollment::get_cert() {
    Bytes content = open_request_envelope();
    begin(SCEPTER_ID_CERT_SENT, "cert_sent");
    if (profile_.get_cert == GetCertAccess::off)
        throw ScepFailure(FailInfo::bad_request, "GetCert is not enabled on this profile");
    std::string serial = requested_serial(content, ca_.ca.cert.get());
    auto record = store_.find_cert(serial);
    if (!record) throw ScepFailure(FailInfo::bad_cert_id, "no certificate " + serial + " was issued here");
    ossl::X509Ptr cert = cert_from_der(record->der);
    if (profile_.get_cert == GetCertAccess::holder_only &&
        EVP_PKEY_eq(X509_get0_pubkey(cert.get()), X509_get0_pubkey(msg_.signer.get())) != 1)
        throw ScepFailure(FailInfo::bad_request, "GetCert is answered only to the certificate's holder");
    passed("", {{"serial", serial}});
    return send_certificate(cert.get());
}

Response Enrollment::get_crl() {
    Bytes content = open_request_envelope();
    begin(SCEPTER_ID_CRL_SENT, "crl_sent");
    if (!profile_.get_crl) throw ScepFailure(FailInfo::bad_request, "GetCRL is not enabled on this profile");
    requested_serial(content, ca_.ca.cert.get());  // checks that it names our CA
    CrlRecord crl = current_crl(cfg_, ca_, store_);
    const unsigned char* p = crl.der.data();
    ossl::Crl parsed(d2i_X509_CRL(nullptr, &p, long(crl.der.size())));
    if (!parsed) throw std::runtime_error("the stored CRL does not parse");
    passed("", {{"crl_number", std::to_string(crl.number)}});
    OSSL_LIB_CTX* libctx = cipher_ == ContentCipher::des ? ca_.legacy_ctx.get() : nullptr;
    Bytes body = cert_rep_success(ca_, profile_, msg_.attrs, msg_.signer.get(), write_crl_only(parsed.get()),
                                  cipher_, libctx);
    return pki_response(std::move(body), "SUCCESS", {{"crl_number", std::to_string(crl.number)}});
}

}  // namespace scepter
