#include "enrollment/enrollment.h"

#include "ca/cert_rep.h"
#include "ca/crl.h"
#include "scepter/cert_serial.h"
#include "scepter/log_ids.h"
#include "util/digest_hex.h"

#include <openssl/crypto.h>

#include <ctime>

namespace scepter {
namespace {

constexpr int kDuplicateSerialRetries = 3;
constexpr int kReasonSuperseded = 4;  // RFC 5280 CRLReason

}  // namespace

Enrollment::Enrollment(const Config& cfg, const CaMaterial& ca, const AuditLog& audit, Store& store,
                       const Profile& profile, const ProfileHooks& hooks, StatusRecords* status, AuditContext& ctx)
    : steps_(audit, ctx), env_{cfg, ca, store, profile, hooks, ctx, steps_}, reports_(env_, status) {}

Response Enrollment::run(const Bytes& der) {
    steps_.begin(SCEPTER_ID_MESSAGE_PARSED, "message_parsed");
    SignedMessage msg;  // empty until it parses; a FAILURE then echoes its attributes
    try {
        msg = read_signed_message(der);
        return dispatch(verify_message(env_, msg));
    } catch (const std::invalid_argument& e) {
        return unreadable(e);
    } catch (const ScepFailure& f) {
        // A message that did not verify is answered with its unverified
        // attributes: they get the same bounds first.
        if (!msg.signer) {
            try {
                check_attribute_bounds(env_.cfg.input_limits, read_unverified_attributes(der));
            } catch (const std::invalid_argument& e) {
                return unreadable(e);
            }
        }
        return refuse(f, msg, der);
    } catch (const StoreError& e) {
        if (!e.unavailable()) return internal_failure(e);
        return refuse_store_unavailable(e, msg, der);
    } catch (const std::exception& e) {
        return internal_failure(e);
    }
}

Response Enrollment::unreadable(const std::invalid_argument& e) {
    steps_.failed(e.what());
    Response r = text_response(400, "the message is not a SCEP pkiMessage\n");
    r.logs = steps_.take_logs();
    r.log(SCEPTER_LOG_WARN, SCEPTER_ID_MESSAGE_UNREADABLE, "client " + env_.ctx.client_ip + ": " + e.what());
    return r;
}

// Our fault, not the client's (a bug, a broken store, OpenSSL failing): the
// step it happened in gets its audit line, and what was logged so far goes
// out with the 500 instead of being lost with the exception.
Response Enrollment::internal_failure(const std::exception& e) {
    steps_.failed(std::string("internal error: ") + e.what());
    Response r = text_response(500, "internal error\n");
    r.logs = steps_.take_logs();
    r.log(SCEPTER_LOG_ERROR, SCEPTER_ID_INTERNAL_ERROR,
          "PKIOperation failed in step " + std::string(steps_.step()) + ": " + e.what());
    return r;
}

// The store cannot be written: nothing was recorded (each write is one
// transaction, rolled back), the admin reads why in the log, the client
// learns it got nothing and may retry. Not recorded as a failed transaction:
// the store would refuse that too.
Response Enrollment::refuse_store_unavailable(const StoreError& e, const SignedMessage& msg, const Bytes& der) {
    steps_.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STORE_FAILED,
               "PKIOperation answered FAILURE: the store cannot be written: " + std::string(e.what()));
    ScepFailure f(FailInfo::bad_request, "store_unavailable: the certificate store cannot be written; try again later");
    return refuse(f, msg, der, /*record=*/false);
}

Response Enrollment::dispatch(const VerifiedMessage& m) {
    switch (m.type) {
        case MessageType::pkcs_req: return enroll(m);
        case MessageType::renewal_req:
            if (!env_.profile.renewal.enabled) {
                steps_.begin(SCEPTER_ID_RENEWAL_CHECKED, "renewal_checked");
                throw ScepFailure(FailInfo::bad_request, "RenewalReq is not enabled on this profile");
            }
            return enroll(m);
        case MessageType::cert_poll: return cert_poll(env_, m);
        case MessageType::get_cert: return get_cert(env_, m);
        default: return get_crl(env_, m);
    }
}

// PKCSReq and RenewalReq.
Response Enrollment::enroll(const VerifiedMessage& m) {
    const bool renewal = m.type == MessageType::renewal_req;
    OpenedEnvelope envelope = open_request_envelope(env_, m.msg);
    CsrInfo csr = check_csr(env_, envelope.content, m.msg.signer.get());
    reports_.concern(csr.der);
    // A request re-sent under a transaction ID we already hold is a poll;
    // the very request issued before gets its certificate again.
    if (auto pending = env_.store.find_pending(env_.ctx.transaction_id))
        return answer_poll(env_, m, envelope.cipher, *pending);
    const RequestIdentity request{m.msg.attrs.message_type, request_fingerprint(m, csr)};
    if (auto earlier = env_.store.find_issued_request(request.fingerprint))
        return answer_replayed_request(env_, m, envelope.cipher, *earlier);
    reports_.open_status();
    ChallengeOutcome challenge;  // a PKCSReq's; checked now, consumed only when issued or parked
    RenewalCheck renewed;        // a RenewalReq's
    if (renewal) renewed = check_renewal(env_, m.msg, csr);
    else challenge = check_challenge(env_, csr);
    TemplateDecision decision = decide_template(env_, csr, challenge.claims, renewal ? m.msg.signer.get() : nullptr);
    validate_externally(env_, csr);
    if (decision.pending || decision.tmpl->require_approval)
        return make_pending(env_, m, envelope.cipher, decision, csr, challenge);
    Issued issued;
    try {
        issued = issue(env_, decision, csr, request, challenge);
    } catch (const RequestAlreadyIssued&) {
        // A copy of this request, in another worker, was stored first.
        auto earlier = env_.store.find_issued_request(request.fingerprint);
        if (!earlier) throw;
        return answer_replayed_request(env_, m, envelope.cipher, *earlier);
    }
    reports_.notify_success(issued, csr);
    if (renewal && env_.profile.renewal.revoke_old) supersede_old_certificate(env_, renewed);
    reports_.succeeded(issued);
    return send_certificate(env_, m.msg, envelope.cipher, issued.cert.get());
}

Response Enrollment::refuse(const ScepFailure& f, const SignedMessage& msg, const Bytes& der, bool record) {
    if (record) record_failure(f, msg.attrs.message_type);
    reports_.failed(f, steps_.step());
    const ScepAttributes attrs = msg.signer ? msg.attrs : read_unverified_attributes(der);
    if (env_.ctx.transaction_id.empty()) env_.ctx.transaction_id = attrs.transaction_id;
    steps_.failed(f.what(), {{"fail_info", to_string(f.info())}});
    Bytes body = cert_rep_failure(env_.ca, env_.profile, attrs, f.info(), std::string(steps_.step()) + ": " + f.what());
    return steps_.reply(std::move(body), "FAILURE", {{"fail_info", to_string(f.info())}});
}

void Enrollment::record_failure(const ScepFailure& f, int message_type) {
    const AuditContext& ctx = env_.ctx;
    if (ctx.transaction_id.empty()) return;  // nothing to key the record on
    TransactionRecord tx{ctx.transaction_id, env_.profile.name, message_type, "failure",
                         to_string(f.info()), std::string(steps_.step()) + ": " + f.what(), "", ctx.client_ip,
                         std::int64_t(std::time(nullptr)), ""};
    try {
        env_.store.record_transaction(tx);
    } catch (const std::exception& e) {
        steps_.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STORE_FAILED, std::string("cannot record a failed transaction: ") + e.what());
    }
}

// RFC 8894 §3.3.1.2: a renewal is signed with the certificate it renews; that
// certificate, not a challenge, authenticates the device.
RenewalCheck check_renewal(const StepEnv& env, const SignedMessage& msg, const CsrInfo& csr) {
    env.steps.begin(SCEPTER_ID_RENEWAL_CHECKED, "renewal_checked");
    X509* old = msg.signer.get();
    if (X509_check_issued(env.ca.ca.cert.get(), old) != X509_V_OK ||
        X509_verify(old, X509_get0_pubkey(env.ca.ca.cert.get())) != 1)
        throw ScepFailure(FailInfo::bad_cert_id, "the renewal is signed with a certificate this CA did not issue");
    std::string serial = serial_hex(X509_get0_serialNumber(old));
    if (X509_cmp_current_time(X509_get0_notAfter(old)) <= 0)
        throw ScepFailure(FailInfo::bad_time, "the signing certificate " + serial + " has expired");
    auto record = env.store.find_cert(serial);
    if (!record) throw ScepFailure(FailInfo::bad_cert_id, "the signing certificate " + serial + " is not in the store");
    if (record->status == "revoked")
        throw ScepFailure(FailInfo::bad_cert_id, "the signing certificate " + serial + " is revoked");
    const int window_days = env.profile.renewal.window_days;
    std::int64_t left = record->not_after - std::int64_t(std::time(nullptr));
    if (left > std::int64_t(window_days) * 86400)
        throw ScepFailure(FailInfo::bad_request, "renewal opens " + std::to_string(window_days) + " days before expiry; " +
                                                     serial + " has " + std::to_string(left / 86400) + " days left");
    if (X509_NAME_cmp(X509_get_subject_name(old), X509_REQ_get_subject_name(csr.req.get())) != 0)
        throw ScepFailure(FailInfo::bad_request, "the CSR's subject differs from the certificate being renewed");
    env.steps.passed("", {{"old_serial", serial}});
    return {serial};
}

GrantedNames granted_names(const TemplateDecision& d, const CsrInfo& csr) {
    GrantedNames names = grant_names(*d.tmpl, csr, d.sid);
    if (d.sans) names.sans = rewritten_sans(*d.tmpl, *d.sans);
    check_key(*d.tmpl, csr);
    return names;
}

// The template's checks come before the challenge is consumed: a request the
// template refuses leaves the device its one-time challenge for a better CSR.
// The consumption commits with the certificate: a store that fails to record
// it leaves the challenge unused too.
Issued issue(const StepEnv& env, const TemplateDecision& d, const CsrInfo& csr, const RequestIdentity& request,
             const ChallengeOutcome& challenge) {
    env.steps.begin(SCEPTER_ID_CERT_ISSUED, "cert_issued");
    const Template& t = *d.tmpl;
    GrantedNames names = granted_names(d, csr);
    const AuditContext& ctx = env.ctx;
    TransactionRecord tx{ctx.transaction_id, env.profile.name, request.message_type, "success", "", "", "",
                         ctx.client_ip, std::int64_t(std::time(nullptr)), request.fingerprint};
    for (int attempt = 1;; ++attempt) {
        Issued issued = issue_certificate(t, csr, names, env.ca.ca, env.cfg.crl.distribution_url, env.cfg.ocsp.url,
                                           env.cfg.ca_issuers_url);
        issued.record.profile = env.profile.name;
        issued.record.transaction_id = ctx.transaction_id;
        issued.record.requester_ip = ctx.client_ip;
        tx.serial_hex = issued.record.serial_hex;
        try {
            commit_using_challenge(env, challenge, [&](const ChallengeUse& use) {
                env.store.record_issuance(issued.record, tx, use);
            });
        } catch (const DuplicateSerial&) {
            if (attempt < kDuplicateSerialRetries) continue;
            throw;
        }
        count_challenge_consumed(env, challenge);
        env.steps.passed("", {{"serial", issued.record.serial_hex},
                              {"sha256", issued.record.sha256_hex},
                              {"subject", issued.record.subject},
                              {"template", t.name}});
        return issued;
    }
}

Response send_certificate(const StepEnv& env, const SignedMessage& msg, ContentCipher cipher, X509* cert) {
    Bytes body = cert_rep_success(env.ca, env.profile, msg.attrs, msg.signer.get(), write_certs_only({cert}), cipher,
                                  cipher_libctx(env, cipher));
    return env.steps.reply(std::move(body), "SUCCESS", {{"serial", serial_hex(X509_get0_serialNumber(cert))}});
}

void supersede_old_certificate(const StepEnv& env, const RenewalCheck& renewed) {
    env.steps.begin(SCEPTER_ID_CERT_REVOKED, "cert_revoked");
    env.store.revoke(renewed.old_serial, kReasonSuperseded, std::time(nullptr));
    CrlRecord crl = publish_crl(env.cfg, env.ca, env.store);
    env.steps.passed("", {{"serial", renewed.old_serial}, {"reason", "superseded"},
                          {"crl_number", std::to_string(crl.number)}});
}

}  // namespace scepter
