// Replay protection: a PKCSReq or RenewalReq is issued once. The same request
// again (an attacker's copy, or a device that missed the answer and re-sends
// it) gets the certificate it was issued, never a second one.
//
// "The same request" cannot be the transaction ID alone: clients derive it
// from the key (RFC 8894 §3.2.1.1.1), so a renewal with the same key, or a
// device that enrolls again after its certificate expired, legitimately comes
// back under an ID that succeeded before. The fingerprint is what a copy
// cannot change and a new request does: the message type, the signer's
// certificate (a fresh self-signed one per PKCSReq run, or the certificate a
// renewal is signed with) and the CSR, all covered by the message's signature.
#include "enrollment/steps.h"

#include "scepter/der.h"
#include "scepter/log_ids.h"
#include "util/digest_hex.h"

#include <openssl/x509.h>

#include <stdexcept>

namespace scepter {
namespace {

// Each part with its length, so that no two different triples hash alike.
void append_part(std::string& out, const std::string& part) {
    out += std::to_string(part.size());
    out += ':';
    out += part;
}

void append_part(std::string& out, const Bytes& part) { append_part(out, std::string(part.begin(), part.end())); }

}  // namespace

std::string request_fingerprint(const VerifiedMessage& m, const CsrInfo& csr) {
    std::string material;
    append_part(material, std::to_string(m.msg.attrs.message_type));
    append_part(material, to_der<X509>(m.msg.signer.get(), i2d_X509));
    append_part(material, csr.der);
    return digest_hex(material, EVP_sha256());
}

Response answer_replayed_request(const StepEnv& env, const VerifiedMessage& m, ContentCipher cipher,
                                 const IssuedCert& earlier) {
    env.steps.begin(SCEPTER_ID_REPLAY_ANSWERED, "replay_answered");
    ossl::X509Ptr cert = cert_from_der(earlier.der);
    if (!cert) throw std::runtime_error("the stored certificate " + earlier.serial_hex + " does not parse");
    env.steps.passed("this request was issued a certificate already; the same certificate is sent again",
                     {{"serial", earlier.serial_hex}, {"first_transaction", earlier.transaction_id}});
    return send_certificate(env, m.msg, cipher, cert.get());
}

}  // namespace scepter
