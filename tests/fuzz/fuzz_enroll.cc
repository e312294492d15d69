// Enrollment past the cryptography: the input is what a device envelopes
// (a CSR, or CertPoll's issuer-and-subject, GetCert's and GetCRL's
// issuer-and-serial); this target envelopes it to the demo RA and signs it
// with a device key made once, so every input reaches the code behind the
// signature and the decryption: CSR checks, challenge, policy, issuance,
// the store, the CertRep. Byte 0 picks the message type (low 3 bits), the
// profile (bit 3: "legacy") and the renewal signer (bit 4: a certificate
// the demo CA issued, so RenewalReq can pass). A 5xx aborts.
#include "fuzz_support.h"

#include "../unit/test_keys.h"
#include "service/service.h"
#include "util/digest_hex.h"

#include <array>
#include <cstdlib>

namespace {

using namespace scepter;

Service& service() {
    static Service* const s = [] {
        Service* made = Service::load(fuzz::private_copy_of_demo_pki() + "/scepter.yaml").release();
        made->worker_init();
        return made;
    }();
    return *s;
}

struct Device {
    ossl::PKey key;
    ossl::X509Ptr cert;
};

// A self-signed device, as for a first enrollment.
const Device& fresh_device() {
    static const Device d = [] {
        Device made{test::rsa_key(2048), nullptr};
        made.cert = test::self_signed(made.key.get(), "fuzz-device");
        return made;
    }();
    return d;
}

// A device certificate the demo CA signed, as for a renewal.
const Device& issued_device() {
    static const Device d = [] {
        const Device& fresh = fresh_device();
        Device made{ossl::PKey(EVP_PKEY_dup(fresh.key.get())), test::self_signed(fresh.key.get(), "fuzz-renewal")};
        const CaMaterial& ca = service().ca();
        X509_set_issuer_name(made.cert.get(), X509_get_subject_name(ca.ca.cert.get()));
        X509_sign(made.cert.get(), ca.ca.key.get(), EVP_sha256());
        return made;
    }();
    return d;
}

constexpr std::array<MessageType, 5> kTypes = {MessageType::pkcs_req, MessageType::renewal_req, MessageType::cert_poll,
                                               MessageType::get_cert, MessageType::get_crl};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // seal_envelope wants content (the core seals only certs-only payloads);
    // an empty envelope is fuzz_service's to try.
    if (size < 2) return 0;
    const Device& device = (data[0] & 16) != 0 ? issued_device() : fresh_device();
    const Bytes content = fuzz::bytes_of(data + 1, size - 1);
    Bytes env = seal_envelope(content, {service().ca().ra_encryption.cert.get()}, ContentCipher::aes128, false, nullptr);
    ScepAttributes a;
    // Derived from the input, so that a crash file replays the same request.
    a.transaction_id = digest_hex(fuzz::text_of(data, size), EVP_sha256());
    a.message_type = int(kTypes[(data[0] & 7) % kTypes.size()]);
    a.sender_nonce = make_nonce();
    Bytes message = write_signed_message(env, a, device.cert.get(), device.key.get(), Digest::sha256);

    Request req;
    req.method = "POST";
    req.path = "/scep";
    req.query = "operation=PKIOperation";
    req.content_type = "application/x-pki-message";
    req.client_ip = "127.0.0.1";
    req.user_agent = "scepter-fuzz";
    req.profile = (data[0] & 8) != 0 ? "legacy" : "default";
    req.body = message.data();
    req.body_len = message.size();
    std::optional<Response> resp = service().handle(req, true);
    if (!resp || resp->status >= 500) std::abort();
    return 0;
}
