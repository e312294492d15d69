#include "enrollment/enrollment.h"

#include "ca/crl.h"
#include "codec/cert_rep.h"
#include "scepter/log_ids.h"
#include "service/service.h"
#include "util/cert_serial.h"
#include "util/digest_hex.h"

#include <openssl/crypto.h>

#include <ctime>

namespace scepter {
namespace {

constexpr int kDuplicateSerialRetries = 3;
constexpr int kReasonSuperseded = 4;  // RFC 5280 CRLReason

bool supported(MessageType t) {
    switch (t) {
        case MessageType::pkcs_req: case MessageType::renewal_req: case MessageType::cert_poll:
        case MessageType::get_cert: case MessageType::get_crl:
            return true;
        default:
            return false;
    }
}

}  // namespace

Response Service::pki_operation(const Bytes& message, const Profile& profile, AuditContext& ctx) {
    return Enrollment(cfg_, ca_, audit_, store(), profile, hooks_.at(profile.name), status_.get(), ctx).run(message);
}

Enrollment::Enrollment(const Config& cfg, const CaMaterial& ca, const AuditLog& audit, Store& store,
                       const Profile& profile, const ProfileHooks& hooks, StatusRecords* status, AuditContext& ctx)
    : cfg_(cfg), ca_(ca), audit_(audit), store_(store), profile_(profile), hooks_(hooks), status_(status),
      ctx_(ctx) {}

void Enrollment::begin(const char* id, const char* step) {
    step_id_ = id;
    step_ = step;
}

void Enrollment::passed(const std::string& detail, const AuditFields& fields) {
    audit_.step(ctx_, step_id_, step_, true, detail, resp_, fields);
}

Response Enrollment::pki_response(Bytes body, const char* status, const AuditFields& fields) {
    begin(SCEPTER_ID_RESPONSE_SENT, "response_sent");
    AuditFields all{{"pki_status", status}};
    all.insert(all.end(), fields.begin(), fields.end());
    passed("", all);
    resp_.status = 200;
    resp_.content_type = "application/x-pki-message";
    resp_.body = std::move(body);
    return std::move(resp_);
}

Response Enrollment::failed(FailInfo info, const std::string& why, const ScepAttributes& attrs) {
    audit_.step(ctx_, step_id_, step_, false, why, resp_, {{"fail_info", to_string(info)}});
    Bytes body = cert_rep_failure(ca_, profile_, attrs, info, std::string(step_) + ": " + why);
    return pki_response(std::move(body), "FAILURE", {{"fail_info", to_string(info)}});
}

Response Enrollment::run(const Bytes& der) {
    begin(SCEPTER_ID_MESSAGE_PARSED, "message_parsed");
    try {
        verify_message(der);
        return dispatch();
    } catch (const std::invalid_argument& e) {
        audit_.step(ctx_, step_id_, step_, false, e.what(), resp_);
        Response r = text_response(400, "the message is not a SCEP pkiMessage\n");
        r.logs = std::move(resp_.logs);
        r.log(SCEPTER_LOG_WARN, SCEPTER_ID_MESSAGE_UNREADABLE, "client " + ctx_.client_ip + ": " + e.what());
        return r;
    } catch (const ScepFailure& f) {
        record_failure(f);
        notify_failure(f);
        status_failure(f);
        const ScepAttributes attrs = msg_.signer ? msg_.attrs : read_unverified_attributes(der);
        if (ctx_.transaction_id.empty()) ctx_.transaction_id = attrs.transaction_id;
        return failed(f.info(), f.what(), attrs);
    }
}

void Enrollment::verify_message(const Bytes& der) {
    msg_ = read_signed_message(der);
    const ScepAttributes& a = msg_.attrs;
    ctx_.transaction_id = a.transaction_id;
    auto type = static_cast<MessageType>(a.message_type);
    ctx_.message_type = to_string(type);
    if (a.transaction_id.empty()) throw ScepFailure(FailInfo::bad_request, "the transactionID attribute is missing");
    if (a.sender_nonce.empty()) throw ScepFailure(FailInfo::bad_request, "the senderNonce attribute is missing");
    if (!supported(type))
        throw ScepFailure(FailInfo::bad_request, "message type " + std::to_string(a.message_type) + " is not a request");
    passed("", {{"digest", to_string(msg_.digest)}});
    begin(SCEPTER_ID_SIGNATURE_VERIFIED, "signature_verified");
    if (!profile_.digests.count(msg_.digest))
        throw ScepFailure(FailInfo::bad_alg, std::string("the signature digest ") + to_string(msg_.digest) +
                                                 " is not allowed on this profile");
    ossl::Buffer<char> signer(X509_NAME_oneline(X509_get_subject_name(msg_.signer.get()), nullptr, 0));
    passed("", {{"signer", signer ? signer.get() : ""}});
}

Response Enrollment::dispatch() {
    switch (static_cast<MessageType>(msg_.attrs.message_type)) {
        case MessageType::pkcs_req: return enroll(false);
        case MessageType::renewal_req:
            if (!profile_.renewal.enabled) {
                begin(SCEPTER_ID_RENEWAL_CHECKED, "renewal_checked");
                throw ScepFailure(FailInfo::bad_request, "RenewalReq is not enabled on this profile");
            }
            return enroll(true);
        case MessageType::cert_poll: return cert_poll();
        case MessageType::get_cert: return get_cert();
        default: return get_crl();
    }
}

Bytes Enrollment::open_request_envelope() {
    begin(SCEPTER_ID_ENVELOPE_DECRYPTED, "envelope_decrypted");
    if (msg_.content.empty()) throw ScepFailure(FailInfo::bad_request, "the message carries no pkcsPKIEnvelope");
    EnvelopeAlgorithms algs = inspect_envelope(msg_.content);
    if (!algs.cipher || !profile_.ciphers.count(*algs.cipher))
        throw ScepFailure(FailInfo::bad_alg, "the content cipher " +
                                                 (algs.cipher ? std::string(to_string(*algs.cipher)) : algs.cipher_name) +
                                                 " is not allowed on this profile");
    cipher_ = *algs.cipher;
    OSSL_LIB_CTX* libctx = cipher_ == ContentCipher::des ? ca_.legacy_ctx.get() : nullptr;
    Bytes plain = open_envelope(msg_.content, ca_.decryption_keys(), libctx);
    passed("", {{"cipher", to_string(cipher_)}, {"key_transport", algs.oaep ? "rsaes-oaep" : "rsaes-pkcs1-v1_5"}});
    return plain;
}

CsrInfo Enrollment::check_csr(const Bytes& der) {
    begin(SCEPTER_ID_CSR_CHECKED, "csr_checked");
    CsrInfo csr = read_csr(der);
    if (!profile_.digests.count(csr.signature_digest))
        throw ScepFailure(FailInfo::bad_alg, std::string("the CSR signature digest ") + to_string(csr.signature_digest) +
                                                 " is not allowed on this profile");
    passed("", {{"subject", csr.subject_text}, {"key", csr.key_type + "-" + std::to_string(csr.key_bits)}});
    return csr;
}

Response Enrollment::enroll(bool renewal) {
    CsrInfo csr = check_csr(open_request_envelope());
    csr_der_ = csr.der;
    // A request re-sent under a transaction ID we already hold is a poll.
    if (auto pending = store_.find_pending(ctx_.transaction_id)) return answer_poll(*pending);
    status_begin();
    if (renewal) check_renewal(csr);
    else check_challenge(csr);
    begin(SCEPTER_ID_TEMPLATE_CHOSEN, "template_chosen");
    const Template& chosen = choose_template(cfg_, profile_, csr);
    passed("", {{"template", chosen.name}});
    const Template& t = apply_policy(csr, chosen, renewal);
    validate_externally(csr);
    if (policy_pending_ || t.require_approval) return make_pending(t, csr);
    Issued issued = issue(t, csr);
    notify_success(issued, csr);
    if (renewal && profile_.renewal.revoke_old) supersede_old_certificate();
    status_success(issued);
    return send_certificate(issued.cert.get());
}

Issued Enrollment::issue(const Template& t, const CsrInfo& csr) {
    begin(SCEPTER_ID_CERT_ISSUED, "cert_issued");
    GrantedNames names = grant_names(t, csr);
    if (policy_sans_) names.sans = rewritten_sans(t, *policy_sans_);
    check_key(t, csr);
    TransactionRecord tx{ctx_.transaction_id, profile_.name, msg_.attrs.message_type, "success", "", "", "",
                         ctx_.client_ip, std::int64_t(std::time(nullptr))};
    for (int attempt = 1;; ++attempt) {
        Issued issued = issue_certificate(t, csr, names, ca_.ca, cfg_.crl.distribution_url);
        issued.record.profile = profile_.name;
        issued.record.transaction_id = ctx_.transaction_id;
        issued.record.requester_ip = ctx_.client_ip;
        tx.serial_hex = issued.record.serial_hex;
        try {
            store_.record_issuance(issued.record, tx);
        } catch (const DuplicateSerial&) {
            if (attempt < kDuplicateSerialRetries) continue;
            throw;
        }
        passed("", {{"serial", issued.record.serial_hex},
                    {"sha256", issued.record.sha256_hex},
                    {"subject", issued.record.subject},
                    {"template", t.name}});
        return issued;
    }
}

Response Enrollment::send_certificate(X509* cert) {
    OSSL_LIB_CTX* libctx = cipher_ == ContentCipher::des ? ca_.legacy_ctx.get() : nullptr;
    Bytes body = cert_rep_success(ca_, profile_, msg_.attrs, msg_.signer.get(), write_certs_only({cert}), cipher_,
                                  libctx);
    return pki_response(std::move(body), "SUCCESS", {{"serial", serial_hex(X509_get0_serialNumber(cert))}});
}

// RFC 8894 §3.3.1.2: a renewal is signed with the certificate it renews; that
// certificate, not a challenge, authenticates the device.
void Enrollment::check_renewal(const CsrInfo& csr) {
    begin(SCEPTER_ID_RENEWAL_CHECKED, "renewal_checked");
    X509* old = msg_.signer.get();
    if (X509_check_issued(ca_.ca.cert.get(), old) != X509_V_OK ||
        X509_verify(old, X509_get0_pubkey(ca_.ca.cert.get())) != 1)
        throw ScepFailure(FailInfo::bad_cert_id, "the renewal is signed with a certificate this CA did not issue");
    std::string serial = serial_hex(X509_get0_serialNumber(old));
    if (X509_cmp_current_time(X509_get0_notAfter(old)) <= 0)
        throw ScepFailure(FailInfo::bad_time, "the signing certificate " + serial + " has expired");
    auto record = store_.find_cert(serial);
    if (!record) throw ScepFailure(FailInfo::bad_cert_id, "the signing certificate " + serial + " is not in the store");
    if (record->status == "revoked")
        throw ScepFailure(FailInfo::bad_cert_id, "the signing certificate " + serial + " is revoked");
    std::int64_t left = record->not_after - std::int64_t(std::time(nullptr));
    if (left > std::int64_t(profile_.renewal.window_days) * 86400)
        throw ScepFailure(FailInfo::bad_request, "renewal opens " + std::to_string(profile_.renewal.window_days) +
                                                     " days before expiry; " + serial + " has " +
                                                     std::to_string(left / 86400) + " days left");
    if (X509_NAME_cmp(X509_get_subject_name(old), X509_REQ_get_subject_name(csr.req.get())) != 0)
        throw ScepFailure(FailInfo::bad_request, "the CSR's subject differs from the certificate being renewed");
    old_serial_ = serial;
    passed("", {{"old_serial", serial}});
}

void Enrollment::supersede_old_certificate() {
    begin(SCEPTER_ID_CERT_REVOKED, "cert_revoked");
    store_.revoke(old_serial_, kReasonSuperseded, std::time(nullptr));
    CrlRecord crl = publish_crl(cfg_, ca_, store_);
    passed("", {{"serial", old_serial_}, {"reason", "superseded"}, {"crl_number", std::to_string(crl.number)}});
}

void Enrollment::record_failure(const ScepFailure& f) {
    if (ctx_.transaction_id.empty()) return;  // nothing to key the record on
    TransactionRecord tx{ctx_.transaction_id, profile_.name, msg_.attrs.message_type, "failure",
                         to_string(f.info()), std::string(step_) + ": " + f.what(), "", ctx_.client_ip,
                         std::int64_t(std::time(nullptr))};
    try {
        store_.record_transaction(tx);
    } catch (const std::exception& e) {
        resp_.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STORE_FAILED, std::string("cannot record a failed transaction: ") + e.what());
    }
}

}  // namespace scepter
