// `request`: builds a PKCSReq (or any message type) pkiMessage from a CSR the
// test made with `openssl req`, the way a device does: a throw-away
// self-signed signer certificate, the CSR enveloped to the RA, signed.
#include "testclient.h"

#include <iostream>

namespace scepter::testclient {
namespace {

struct Signer {
    ossl::X509Ptr cert;
    ossl::PKey key;
};

// A given certificate (renewal with the issued one) or a fresh self-signed
// one for the device key.
Signer choose_signer(const Args& args, EVP_PKEY* device_key, X509_REQ* csr) {
    Signer s;
    if (args.has("signer-cert")) {
        s.cert = read_cert(args.require("signer-cert"));
        s.key = args.has("signer-key") ? read_private_key(args.require("signer-key"))
                                       : ossl::up_ref(device_key);
    } else {
        s.cert = make_signer(device_key, X509_REQ_get_subject_name(csr), args.has("windows-aki"));
        s.key = ossl::up_ref(device_key);
    }
    return s;
}

int parse_int(const std::string& s, const char* what) {
    try {
        std::size_t used = 0;
        int v = std::stoi(s, &used);
        if (used == s.size()) return v;
    } catch (const std::exception&) {
    }
    throw UsageError(std::string(what) + " must be a number, not '" + s + "'");
}

Bytes name_der(const X509_NAME* name) {
    unsigned char* der = nullptr;
    int n = i2d_X509_NAME(name, &der);
    if (n <= 0) throw_openssl("i2d_X509_NAME");
    ossl::Buffer<unsigned char> owned(der);
    return Bytes(der, der + n);
}

// DER SEQUENCE around already-encoded members.
Bytes der_sequence(const Bytes& members) {
    Bytes out{0x30};
    std::size_t n = members.size();
    if (n < 0x80) {
        out.push_back(static_cast<unsigned char>(n));
    } else {
        Bytes len;
        for (; n > 0; n >>= 8) len.insert(len.begin(), static_cast<unsigned char>(n & 0xff));
        out.push_back(static_cast<unsigned char>(0x80 | len.size()));
        out.insert(out.end(), len.begin(), len.end());
    }
    out.insert(out.end(), members.begin(), members.end());
    return out;
}

X509* issuing_ca(const std::vector<ossl::X509Ptr>& certs) {
    for (auto& c : certs)
        if (is_ca(c.get())) return c.get();
    return certs.front().get();
}

// The enveloped content: the CSR (PKCSReq, RenewalReq), IssuerAndSubject
// (CertPoll, RFC 8894 §3.3.3) or IssuerAndSerialNumber (GetCert, GetCRL).
Bytes message_content(const Args& args, X509_REQ* csr, X509* ca) {
    // Any bytes at all, for the hostile-input tests: what a broken or
    // malicious client puts where the CSR belongs.
    if (args.has("content-file")) return read_file(args.require("content-file"));
    std::string what = args.get("content", "csr");
    if (what == "csr") return csr_der(csr);
    if (what == "issuer-and-subject") {
        Bytes members = name_der(X509_get_subject_name(ca));
        Bytes subject = name_der(X509_REQ_get_subject_name(csr));
        members.insert(members.end(), subject.begin(), subject.end());
        return der_sequence(members);
    }
    if (what.rfind("issuer-and-serial=", 0) == 0) {
        ossl::IssuerAndSerial ias(PKCS7_ISSUER_AND_SERIAL_new());
        BIGNUM* raw = nullptr;
        if (!ias || BN_hex2bn(&raw, what.substr(18).c_str()) == 0) throw UsageError("bad serial in --content");
        ossl::Bignum bn(raw);
        X509_NAME_set(&ias->issuer, X509_get_subject_name(ca));
        BN_to_ASN1_INTEGER(bn.get(), ias->serial);
        unsigned char* der = nullptr;
        int n = i2d_PKCS7_ISSUER_AND_SERIAL(ias.get(), &der);
        ossl::Buffer<unsigned char> owned(der);
        if (n <= 0) throw_openssl("i2d_PKCS7_ISSUER_AND_SERIAL");
        return Bytes(der, der + n);
    }
    throw UsageError("--content must be csr, issuer-and-subject or issuer-and-serial=HEX");
}

}  // namespace

int run_request(const Args& args) {
    ossl::X509Req csr = read_csr(args.require("csr"));
    ossl::PKey key = read_private_key(args.require("key"));
    std::vector<ossl::X509Ptr> ca_certs = read_ca_certs(args.require("cacert"));
    std::string out = args.require("out");
    ContentCipher cipher = parse_cipher(args.get("cipher", "aes256"));
    Digest digest = parse_digest(args.get("digest", "sha256"));
    Signer signer = choose_signer(args, key.get(), csr.get());

    ossl::X509Ptr recipient_file;
    std::vector<X509*> recipients =
        pick_recipients(ca_certs, args.get("recipient", "auto"), recipient_file);

    LegacyContext libctx;
    Bytes content = message_content(args, csr.get(), issuing_ca(ca_certs));
    // --no-envelope signs the content bare, as a client that forgot the
    // pkcsPKIEnvelope would.
    Bytes envelope = args.has("no-envelope")
                         ? content
                         : seal_envelope(content, recipients, cipher, args.has("oaep"), libctx.get());

    ScepAttributes attrs;
    attrs.transaction_id = args.has("transaction-id") ? args.require("transaction-id")
                                                      : public_key_sha256_hex(key.get());
    attrs.message_type = parse_int(args.get("message-type", "19"), "--message-type");
    attrs.sender_nonce =
        args.has("sender-nonce") ? parse_hex(args.require("sender-nonce")) : make_nonce();

    Bytes msg = write_signed_message(envelope, attrs, signer.cert.get(), signer.key.get(), digest);
    write_file(out, msg);
    std::string signer_out = args.get("signer-out", out + ".signer.pem");
    write_text(signer_out, cert_to_pem(signer.cert.get()));

    std::cout << "{\"transaction_id\":" << json_quote(attrs.transaction_id)
              << ",\"sender_nonce\":" << json_quote(to_hex(attrs.sender_nonce))
              << ",\"message_type\":" << attrs.message_type
              << ",\"recipients\":" << recipients.size()
              << ",\"recipient_subject\":" << json_quote(name_rfc2253(X509_get_subject_name(recipients.front())))
              << ",\"signer\":" << json_quote(signer_out) << ",\"out\":" << json_quote(out)
              << ",\"bytes\":" << msg.size() << "}\n";
    return 0;
}

}  // namespace scepter::testclient
