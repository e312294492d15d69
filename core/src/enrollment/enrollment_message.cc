// The steps every PKIOperation shares: the signed message, its envelope, and
// (for PKCSReq and RenewalReq) the CSR inside.
#include "enrollment/steps.h"
#include "scepter/log_ids.h"

namespace scepter {
namespace {

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

// Bounds on what the message's attributes may cost the audit trail and the
// store: an oversized transactionID, or one with control characters, is not
// echoed, recorded or logged, and the message is refused as unreadable (HTTP
// 400).
void check_attribute_bounds(const InputLimits& limits, const ScepAttributes& a) {
    if (a.transaction_id.size() > limits.max_transaction_id_bytes)
        throw std::invalid_argument("the transactionID is " + std::to_string(a.transaction_id.size()) +
                                    " bytes long; limits.max_transaction_id_length is " +
                                    std::to_string(limits.max_transaction_id_bytes));
    // RFC 8894 §3.2.1.1: a PrintableString. Anything outside printable
    // ASCII (control characters above all) would reach the audit trail, the
    // store and every log line that names the transaction.
    for (unsigned char c : a.transaction_id)
        if (c < 0x20 || c > 0x7E)
            throw std::invalid_argument("the transactionID holds a byte that is not printable ASCII");
    if (a.sender_nonce.size() > limits.max_nonce_bytes)
        throw std::invalid_argument("the senderNonce is " + std::to_string(a.sender_nonce.size()) +
                                    " bytes long; limits.max_nonce_length is " + std::to_string(limits.max_nonce_bytes));
}

VerifiedMessage verify_message(const StepEnv& env, const SignedMessage& msg) {
    const ScepAttributes& a = msg.attrs;
    check_attribute_bounds(env.cfg.input_limits, a);
    env.ctx.transaction_id = a.transaction_id;
    auto type = static_cast<MessageType>(a.message_type);
    env.ctx.message_type = to_string(type);
    if (a.transaction_id.empty()) throw ScepFailure(FailInfo::bad_request, "the transactionID attribute is missing");
    if (a.sender_nonce.empty()) throw ScepFailure(FailInfo::bad_request, "the senderNonce attribute is missing");
    if (!supported(type))
        throw ScepFailure(FailInfo::bad_request, "message type " + std::to_string(a.message_type) + " is not a request");
    env.steps.passed("", {{"digest", to_string(msg.digest)}});
    env.steps.begin(SCEPTER_ID_SIGNATURE_VERIFIED, "signature_verified");
    if (!env.profile.digests.count(msg.digest))
        throw ScepFailure(FailInfo::bad_alg, std::string("the signature digest ") + to_string(msg.digest) +
                                                 " is not allowed on this profile");
    ossl::Buffer<char> signer(X509_NAME_oneline(X509_get_subject_name(msg.signer.get()), nullptr, 0));
    env.steps.passed("", {{"signer", signer ? signer.get() : ""}});
    return {msg, type};
}

OSSL_LIB_CTX* cipher_libctx(const StepEnv& env, ContentCipher cipher) {
    return cipher == ContentCipher::des ? env.ca.legacy_ctx.get() : nullptr;
}

OpenedEnvelope open_request_envelope(const StepEnv& env, const SignedMessage& msg) {
    env.steps.begin(SCEPTER_ID_ENVELOPE_DECRYPTED, "envelope_decrypted");
    if (msg.content.empty()) throw ScepFailure(FailInfo::bad_request, "the message carries no pkcsPKIEnvelope");
    EnvelopeAlgorithms algs = inspect_envelope(msg.content);
    if (!algs.cipher || !env.profile.ciphers.count(*algs.cipher))
        throw ScepFailure(FailInfo::bad_alg, "the content cipher " +
                                                 (algs.cipher ? std::string(to_string(*algs.cipher)) : algs.cipher_name) +
                                                 " is not allowed on this profile");
    const ContentCipher cipher = *algs.cipher;
    Bytes plain = open_envelope(msg.content, env.ca.decryption_keys(), cipher_libctx(env, cipher));
    env.steps.passed("", {{"cipher", to_string(cipher)}, {"key_transport", algs.oaep ? "rsaes-oaep" : "rsaes-pkcs1-v1_5"}});
    return {std::move(plain), cipher};
}

CsrInfo check_csr(const StepEnv& env, const Bytes& der, X509* signer) {
    env.steps.begin(SCEPTER_ID_CSR_CHECKED, "csr_checked");
    CsrInfo csr = read_csr(der, env.cfg.input_limits, signer);
    if (!env.profile.digests.count(csr.signature_digest))
        throw ScepFailure(FailInfo::bad_alg, std::string("the CSR signature digest ") + to_string(csr.signature_digest) +
                                                 " is not allowed on this profile");
    env.steps.passed("", {{"subject", csr.subject_text}, {"key", csr.key_type + "-" + std::to_string(csr.key_bits)}});
    return csr;
}

}  // namespace scepter
