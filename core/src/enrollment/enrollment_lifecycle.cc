// PENDING and CertPoll (RFC 8894 §3.3.3), GetCert and GetCRL (§3.3.4).
#include "ca/cert_rep.h"
#include "ca/crl.h"
#include "enrollment/steps.h"
#include "scepter/cert_serial.h"
#include "scepter/der.h"
#include "scepter/log_ids.h"

#include <ctime>

namespace scepter {
namespace {

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

void check_same_requester(const PendingRequest& pending, const SignedMessage& msg) {
    ossl::X509Ptr original = cert_from_der(pending.signer_der);
    if (!original || EVP_PKEY_eq(X509_get0_pubkey(original.get()), X509_get0_pubkey(msg.signer.get())) != 1)
        throw ScepFailure(FailInfo::bad_request, "the poll is not signed with the key of the pending request");
}

// An approved request: issued now, unless a simultaneous poll issued it first.
Response issue_approved(const StepEnv& env, const VerifiedMessage& m, ContentCipher cipher, const Template& t,
                        const PendingRequest& pending) {
    CsrInfo csr = read_csr(pending.csr_der);
    try {
        Issued issued = issue(env, {&t, std::nullopt, std::nullopt, false}, csr, {m.msg.attrs.message_type, ""}, ChallengeOutcome{});
        return send_certificate(env, m.msg, cipher, issued.cert.get());
    } catch (const PendingAlreadyIssued&) {
        // Another worker answered a simultaneous poll first: send its certificate.
        auto now_issued = env.store.find_pending(pending.transaction_id);
        auto record = now_issued ? env.store.find_cert(now_issued->serial_hex) : std::nullopt;
        if (!record) throw;
        return send_certificate(env, m.msg, cipher, cert_from_der(record->der).get());
    }
}

}  // namespace

// Like cert_issued, the template's checks come before the challenge is
// consumed: an administrator is never asked about a request that cannot be
// issued, and such a request leaves the device its challenge.
Response make_pending(const StepEnv& env, const VerifiedMessage& m, ContentCipher cipher, const TemplateDecision& d,
                      const CsrInfo& csr, const ChallengeOutcome& challenge) {
    env.steps.begin(SCEPTER_ID_REQUEST_PENDING, "request_pending");
    granted_names(d, csr);
    PendingRequest p;
    p.transaction_id = env.ctx.transaction_id;
    p.profile = env.profile.name;
    p.template_name = d.tmpl->name;
    p.message_type = m.msg.attrs.message_type;
    p.subject = csr.subject_text;
    p.requester_ip = env.ctx.client_ip;
    p.created_at = p.updated_at = std::time(nullptr);
    p.csr_der = csr.der;
    p.signer_der = to_der(m.msg.signer.get(), i2d_X509);
    // Two copies of one request racing: the second becomes a poll.
    bool added = commit_using_challenge(
        env, challenge, [&](const ChallengeUse& use) { return env.store.add_pending(p, use); });
    if (!added) return answer_poll(env, m, cipher, *env.store.find_pending(p.transaction_id));
    count_challenge_consumed(env, challenge);
    env.steps.passed("waiting for an administrator's approval", {{"template", d.tmpl->name}});
    return env.steps.reply(cert_rep_pending(env.ca, env.profile, m.msg.attrs), "PENDING");
}

Response answer_poll(const StepEnv& env, const VerifiedMessage& m, ContentCipher cipher, const PendingRequest& pending) {
    env.steps.begin(SCEPTER_ID_POLL_ANSWERED, "poll_answered");
    check_same_requester(pending, m.msg);
    if (pending.status == "pending") {
        env.steps.passed("", {{"status", "pending"}});
        return env.steps.reply(cert_rep_pending(env.ca, env.profile, m.msg.attrs), "PENDING");
    }
    if (pending.status == "denied")
        throw ScepFailure(FailInfo::bad_request, "an administrator denied the request" +
                                                     (pending.reason.empty() ? "" : ": " + pending.reason));
    if (pending.status == "issued") {
        auto record = env.store.find_cert(pending.serial_hex);
        if (!record) throw ScepFailure(FailInfo::bad_cert_id, "the issued certificate is no longer in the store");
        env.steps.passed("", {{"status", "issued"}});
        return send_certificate(env, m.msg, cipher, cert_from_der(record->der).get());
    }
    auto t = env.cfg.templates.find(pending.template_name);
    if (t == env.cfg.templates.end())
        throw ScepFailure(FailInfo::bad_request, "template '" + pending.template_name + "' no longer exists");
    env.steps.passed("", {{"status", "approved"}});
    return issue_approved(env, m, cipher, t->second, pending);
}

Response cert_poll(const StepEnv& env, const VerifiedMessage& m) {
    // IssuerAndSubject; the transaction ID names the request
    OpenedEnvelope envelope = open_request_envelope(env, m.msg);
    auto pending = env.store.find_pending(env.ctx.transaction_id);
    if (!pending) {
        env.steps.begin(SCEPTER_ID_POLL_ANSWERED, "poll_answered");
        throw ScepFailure(FailInfo::bad_cert_id, "no pending request has this transaction ID");
    }
    return answer_poll(env, m, envelope.cipher, *pending);
}

Response get_cert(const StepEnv& env, const VerifiedMessage& m) {
    OpenedEnvelope envelope = open_request_envelope(env, m.msg);
    env.steps.begin(SCEPTER_ID_CERT_SENT, "cert_sent");
    if (env.profile.get_cert == GetCertAccess::off)
        throw ScepFailure(FailInfo::bad_request, "GetCert is not enabled on this profile");
    std::string serial = requested_serial(envelope.content, env.ca.ca.cert.get());
    auto record = env.store.find_cert(serial);
    if (!record) throw ScepFailure(FailInfo::bad_cert_id, "no certificate " + serial + " was issued here");
    ossl::X509Ptr cert = cert_from_der(record->der);
    if (env.profile.get_cert == GetCertAccess::holder_only &&
        EVP_PKEY_eq(X509_get0_pubkey(cert.get()), X509_get0_pubkey(m.msg.signer.get())) != 1)
        throw ScepFailure(FailInfo::bad_request, "GetCert is answered only to the certificate's holder");
    env.steps.passed("", {{"serial", serial}});
    return send_certificate(env, m.msg, envelope.cipher, cert.get());
}

Response get_crl(const StepEnv& env, const VerifiedMessage& m) {
    OpenedEnvelope envelope = open_request_envelope(env, m.msg);
    env.steps.begin(SCEPTER_ID_CRL_SENT, "crl_sent");
    if (!env.profile.get_crl) throw ScepFailure(FailInfo::bad_request, "GetCRL is not enabled on this profile");
    requested_serial(envelope.content, env.ca.ca.cert.get());  // checks that it names our CA
    CrlRecord crl = current_crl(env.cfg, env.ca, env.store);
    const unsigned char* p = crl.der.data();
    ossl::Crl parsed(d2i_X509_CRL(nullptr, &p, long(crl.der.size())));
    if (!parsed) throw std::runtime_error("the stored CRL does not parse");
    env.steps.passed("", {{"crl_number", std::to_string(crl.number)}});
    Bytes body = cert_rep_success(env.ca, env.profile, m.msg.attrs, m.msg.signer.get(), write_crl_only(parsed.get()),
                                  envelope.cipher, cipher_libctx(env, envelope.cipher));
    return env.steps.reply(std::move(body), "SUCCESS", {{"crl_number", std::to_string(crl.number)}});
}

}  // namespace scepter
