#include "ca/cert_rep.h"

namespace scepter {
namespace {

ScepAttributes reply_attributes(const ScepAttributes& request, PkiStatus status) {
    ScepAttributes a;
    a.transaction_id = request.transaction_id;
    a.message_type = int(MessageType::cert_rep);
    a.status = status;
    a.sender_nonce = make_nonce();
    a.recipient_nonce = request.sender_nonce;
    return a;
}

Bytes sign_reply(const CaMaterial& ca, const Profile& p, const ScepAttributes& attrs, const Bytes& content) {
    return write_signed_message(content, attrs, ca.ra_signing.cert.get(), ca.ra_signing.key.get(),
                                p.response_digest, {ca.ra_signing.cert.get()});
}

}  // namespace

Bytes cert_rep_failure(const CaMaterial& ca, const Profile& p, const ScepAttributes& request, FailInfo info,
                       const std::string& text) {
    ScepAttributes a = reply_attributes(request, PkiStatus::failure);
    a.fail_info = info;
    a.fail_info_text = text;
    return sign_reply(ca, p, a, {});
}

Bytes cert_rep_pending(const CaMaterial& ca, const Profile& p, const ScepAttributes& request) {
    return sign_reply(ca, p, reply_attributes(request, PkiStatus::pending), {});
}

Bytes cert_rep_success(const CaMaterial& ca, const Profile& p, const ScepAttributes& request, X509* requester,
                       const Bytes& certs_only, ContentCipher cipher, OSSL_LIB_CTX* libctx) {
    Bytes payload = seal_envelope(certs_only, {requester}, cipher, false, libctx);
    return sign_reply(ca, p, reply_attributes(request, PkiStatus::success), payload);
}

}  // namespace scepter
