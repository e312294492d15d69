// `reply`: reads a CertRep the way a device must (RFC 8894 §3.3.2): verify
// the signature, match recipientNonce to our senderNonce, decrypt the
// degenerate PKCS#7 and find our certificate in it.
#include "scepter/cert_serial.h"
#include "testclient.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <iostream>
#include <sstream>

namespace scepter::testclient {

bool chains_to(X509* signer, const std::vector<ossl::X509Ptr>& trusted) {
    ossl::X509Store store(X509_STORE_new());
    ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
    if (!store || !ctx) throw_openssl("X509_STORE_new");
    for (auto& c : trusted)
        if (X509_STORE_add_cert(store.get(), c.get()) != 1) throw_openssl("X509_STORE_add_cert");
    if (X509_STORE_CTX_init(ctx.get(), store.get(), signer, nullptr) != 1)
        throw_openssl("X509_STORE_CTX_init");
    bool ok = X509_verify_cert(ctx.get()) == 1;
    ERR_clear_error();
    return ok;
}

Issued extract_issued(const Bytes& inner, EVP_PKEY* device_key, bool any_cert) {
    std::vector<ossl::X509Ptr> certs = read_certs_only(inner);
    Issued out;
    out.count = certs.size();
    for (auto& c : certs) {
        if (any_cert || X509_check_private_key(c.get(), device_key) == 1) {
            out.cert = std::move(c);
            break;
        }
    }
    ERR_clear_error();
    if (!out.cert) throw std::runtime_error("the CertRep holds no certificate for our key");
    return out;
}

std::string issued_json(const Issued& issued) {
    X509* c = issued.cert.get();
    std::ostringstream json;
    json << ",\"cert_subject\":" << json_quote(name_rfc2253(X509_get_subject_name(c)))
         << ",\"cert_issuer\":" << json_quote(name_rfc2253(X509_get_issuer_name(c)))
         << ",\"cert_serial\":" << json_quote(serial_hex(X509_get0_serialNumber(c)))
         << ",\"certs_in_reply\":" << issued.count;
    return json.str();
}

namespace {

// A GetCRL answer: the degenerate PKCS#7 carries a CRL instead of certificates.
std::string crl_json(const Bytes& inner, const Args& args) {
    const unsigned char* p = inner.data();
    ossl::Pkcs7 p7(d2i_PKCS7(nullptr, &p, long(inner.size())));
    if (!p7 || !PKCS7_type_is_signed(p7.get()) || sk_X509_CRL_num(p7->d.sign->crl) < 1) return "";
    X509_CRL* crl = sk_X509_CRL_value(p7->d.sign->crl, 0);
    if (args.has("crl-out")) {
        ossl::Bio mem(BIO_new(BIO_s_mem()));
        PEM_write_bio_X509_CRL(mem.get(), crl);
        char* data = nullptr;
        long len = BIO_get_mem_data(mem.get(), &data);
        write_text(args.require("crl-out"), std::string(data, std::size_t(len)));
    }
    std::ostringstream json;
    json << ",\"crl_issuer\":" << json_quote(name_rfc2253(X509_CRL_get_issuer(crl)))
         << ",\"crl_revoked\":" << sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl));
    return json.str();
}

const char* status_name(const ScepAttributes& a) {
    return a.status ? to_string(*a.status) : "NONE";
}

// The fields every CertRep has, as the start of a JSON object.
std::string attributes_json(const SignedMessage& msg) {
    const ScepAttributes& a = msg.attrs;
    std::ostringstream json;
    json << "{\"status\":" << json_quote(status_name(a))
         << ",\"message_type\":" << a.message_type
         << ",\"fail_info\":" << (a.fail_info ? json_quote(to_string(*a.fail_info)) : "null")
         << ",\"fail_info_text\":" << json_quote(a.fail_info_text)
         << ",\"transaction_id\":" << json_quote(a.transaction_id)
         << ",\"sender_nonce\":" << json_quote(to_hex(a.sender_nonce))
         << ",\"recipient_nonce\":" << json_quote(to_hex(a.recipient_nonce))
         << ",\"digest\":" << json_quote(to_string(msg.digest))
         << ",\"signer_subject\":" << json_quote(name_rfc2253(X509_get_subject_name(msg.signer.get())));
    return json.str();
}

}  // namespace

int run_reply(const Args& args) {
    Bytes der = read_file(args.require("in"));
    ossl::PKey device_key = read_private_key(args.require("key"));
    ossl::X509Ptr signer = read_cert(args.require("signer"));
    ossl::PKey signer_key =
        args.has("signer-key") ? read_private_key(args.require("signer-key")) : ossl::up_ref(device_key.get());

    SignedMessage msg;
    try {
        msg = read_signed_message(der);
    } catch (const std::exception& e) {
        std::cout << "{\"error\":" << json_quote(e.what()) << "}\n";
        return 1;
    }
    int rc = 0;
    std::string json = attributes_json(msg);
    if (args.has("sender-nonce")) {
        bool ok = msg.attrs.recipient_nonce == parse_hex(args.require("sender-nonce"));
        json += std::string(",\"recipient_nonce_ok\":") + (ok ? "true" : "false");
        if (!ok) rc = 2;
    }
    if (args.has("ca")) {
        bool ok = chains_to(msg.signer.get(), read_ca_certs(args.require("ca")));
        json += std::string(",\"signer_trusted\":") + (ok ? "true" : "false");
        if (!ok) rc = 2;
    }
    if (msg.attrs.status == PkiStatus::success) {
        LegacyContext libctx;
        Bytes inner = open_envelope(msg.content, {{signer.get(), signer_key.get()}}, libctx.get());
        std::string crl = crl_json(inner, args);
        if (!crl.empty()) {
            json += crl;
        } else {
            Issued issued = extract_issued(inner, device_key.get(), args.has("any-cert"));
            if (args.has("out")) write_text(args.require("out"), cert_to_pem(issued.cert.get()));
            json += issued_json(issued);
        }
    }
    std::cout << json << "}\n";
    return rc;
}

}  // namespace scepter::testclient
