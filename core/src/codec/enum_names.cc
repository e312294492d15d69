// Printable names of the protocol and configuration enums.
#include "scepter/config.h"
#include "scepter/pki_message.h"

namespace scepter {

const char* to_string(ContentCipher c) noexcept {
    switch (c) {
        case ContentCipher::des: return "des";
        case ContentCipher::des3: return "des3";
        case ContentCipher::aes128: return "aes128";
        case ContentCipher::aes192: return "aes192";
        case ContentCipher::aes256: return "aes256";
    }
    return "unknown";
}

const char* to_string(Digest d) noexcept {
    switch (d) {
        case Digest::md5: return "md5";
        case Digest::sha1: return "sha1";
        case Digest::sha256: return "sha256";
        case Digest::sha384: return "sha384";
        case Digest::sha512: return "sha512";
    }
    return "unknown";
}

const char* to_string(MessageType t) noexcept {
    switch (t) {
        case MessageType::cert_rep: return "CertRep";
        case MessageType::renewal_req: return "RenewalReq";
        case MessageType::pkcs_req: return "PKCSReq";
        case MessageType::cert_poll: return "CertPoll";
        case MessageType::get_cert: return "GetCert";
        case MessageType::get_crl: return "GetCRL";
    }
    return "unknown";
}

const char* to_string(PkiStatus s) noexcept {
    switch (s) {
        case PkiStatus::success: return "SUCCESS";
        case PkiStatus::failure: return "FAILURE";
        case PkiStatus::pending: return "PENDING";
    }
    return "unknown";
}

const char* to_string(FailInfo f) noexcept {
    switch (f) {
        case FailInfo::bad_alg: return "badAlg";
        case FailInfo::bad_message_check: return "badMessageCheck";
        case FailInfo::bad_request: return "badRequest";
        case FailInfo::bad_time: return "badTime";
        case FailInfo::bad_cert_id: return "badCertID";
    }
    return "unknown";
}

}  // namespace scepter
