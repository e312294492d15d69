#include "enrollment.h"

#include "cert_rep.h"
#include "digest_hex.h"
#include "scepter/log_ids.h"
#include "service.h"

#include <openssl/crypto.h>

#include <ctime>

namespace scepter {
namespace {

constexpr int kDuplicateSerialRetries = 3;

}  // namespace

Response Service::pki_operation(const Bytes& message, const Profile& profile, AuditContext& ctx) {
    return Enrollment(cfg_, ca_, audit_, store(), profile, ctx).run(message);
}

Enrollment::Enrollment(const Config& cfg, const CaMaterial& ca, const AuditLog& audit, Store& store,
                       const Profile& profile, AuditContext& ctx)
    : cfg_(cfg), ca_(ca), audit_(audit), store_(store), profile_(profile), ctx_(ctx) {}

void Enrollment::begin(const char* id, const char* step) {
    step_id_ = id;
    step_ = step;
}

void Enrollment::passed(const std::string& detail, const AuditFields& fields) {
    audit_.step(ctx_, step_id_, step_, true, detail, resp_, fields);
}

Response Enrollment::pki_response(Bytes body) {
    resp_.status = 200;
    resp_.content_type = "application/x-pki-message";
    resp_.body = std::move(body);
    return std::move(resp_);
}

Response Enrollment::failed(FailInfo info, const std::string& why, const ScepAttributes& attrs) {
    audit_.step(ctx_, step_id_, step_, false, why, resp_, {{"fail_info", to_string(info)}});
    std::string text = std::string(step_) + ": " + why;
    Bytes body = cert_rep_failure(ca_, profile_, attrs, info, text);
    begin(SCEPTER_ID_RESPONSE_SENT, "response_sent");
    passed("", {{"pki_status", "FAILURE"}, {"fail_info", to_string(info)}});
    return pki_response(std::move(body));
}

Response Enrollment::run(const Bytes& der) {
    begin(SCEPTER_ID_MESSAGE_PARSED, "message_parsed");
    try {
        verify_message(der);
        Bytes csr_der = open_request_envelope();
        CsrInfo csr = check_csr(csr_der);
        check_challenge(csr);
        begin(SCEPTER_ID_TEMPLATE_CHOSEN, "template_chosen");
        const Template& t = choose_template(cfg_, profile_, csr);
        passed("", {{"template", t.name}});
        Issued issued = issue(t, csr);
        Bytes body = cert_rep_success(ca_, profile_, msg_.attrs, msg_.signer.get(), issued.cert.get(), cipher_,
                                      cipher_ == ContentCipher::des ? ca_.legacy_ctx.get() : nullptr);
        begin(SCEPTER_ID_RESPONSE_SENT, "response_sent");
        passed("", {{"pki_status", "SUCCESS"}, {"serial", issued.record.serial_hex}});
        return pki_response(std::move(body));
    } catch (const std::invalid_argument& e) {
        audit_.step(ctx_, step_id_, step_, false, e.what(), resp_);
        Response r = text_response(400, "the message is not a SCEP pkiMessage\n");
        r.logs = std::move(resp_.logs);
        r.log(SCEPTER_LOG_WARN, SCEPTER_ID_MESSAGE_UNREADABLE, "client " + ctx_.client_ip + ": " + e.what());
        return r;
    } catch (const ScepFailure& f) {
        record_failure(f);
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
    if (type != MessageType::pkcs_req)
        throw ScepFailure(FailInfo::bad_request, "message type " + std::to_string(a.message_type) + " (" +
                                                     ctx_.message_type + ") is not supported on this profile");
    passed("", {{"digest", to_string(msg_.digest)}});
    begin(SCEPTER_ID_SIGNATURE_VERIFIED, "signature_verified");
    if (!profile_.digests.count(msg_.digest))
        throw ScepFailure(FailInfo::bad_alg, std::string("the signature digest ") + to_string(msg_.digest) +
                                                 " is not allowed on this profile");
    ossl::Buffer<char> signer(X509_NAME_oneline(X509_get_subject_name(msg_.signer.get()), nullptr, 0));
    passed("", {{"signer", signer ? signer.get() : ""}});
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
    passed("", {{"subject", csr.subject_text},
                {"key", csr.key_type + "-" + std::to_string(csr.key_bits)}});
    return csr;
}

void Enrollment::check_challenge(const CsrInfo& csr) {
    begin(SCEPTER_ID_CHALLENGE_CHECKED, "challenge_checked");
    const std::string& expected = profile_.challenge.static_sha256;
    if (expected.empty())
        throw ScepFailure(FailInfo::bad_request, "ChallengeNotConfigured: this profile has no challenge to check against");
    if (!csr.challenge || csr.challenge->empty())
        throw ScepFailure(FailInfo::bad_request, "ChallengePasswordMissing: the CSR carries no challengePassword");
    // Compare digests of equal length in constant time: no timing tells how
    // much of a guess was right.
    std::string got = digest_hex(*csr.challenge, EVP_sha256());
    if (CRYPTO_memcmp(got.data(), expected.data(), expected.size()) != 0)
        throw ScepFailure(FailInfo::bad_request, "ChallengePasswordMismatch: the challenge password is not valid");
    passed("", {{"kind", "static"}});
}

Issued Enrollment::issue(const Template& t, const CsrInfo& csr) {
    begin(SCEPTER_ID_CERT_ISSUED, "cert_issued");
    GrantedNames names = grant_names(t, csr);
    check_key(t, csr);
    TransactionRecord tx{ctx_.transaction_id, profile_.name, int(MessageType::pkcs_req), "success", "", "", "",
                         ctx_.client_ip, std::int64_t(std::time(nullptr))};
    for (int attempt = 1;; ++attempt) {
        Issued issued = issue_certificate(t, csr, names, ca_.ca);
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
