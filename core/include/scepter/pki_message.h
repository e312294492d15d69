// SCEP pkiMessage codec (RFC 8894 §3): the signed outer layer with its SCEP
// attributes, the enveloped inner layer, and degenerate certs-only SignedData.
//
// Both sides use it: the server to read requests and build CertReps, the
// project's test client to build requests and read CertReps. Functions throw
// ScepFailure when the input is the peer's fault, with the failInfo the
// server answers; other exceptions mean our own failure.
#pragma once

#include "scepter/config.h"
#include "scepter/ossl.h"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace scepter {

using Bytes = std::vector<unsigned char>;

enum class MessageType : int {
    cert_rep = 3,
    renewal_req = 17,
    pkcs_req = 19,
    cert_poll = 20,
    get_cert = 21,
    get_crl = 22,
};

enum class PkiStatus : int { success = 0, failure = 2, pending = 3 };

enum class FailInfo : int {
    bad_alg = 0,
    bad_message_check = 1,
    bad_request = 2,
    bad_time = 3,
    bad_cert_id = 4,
};

const char* to_string(MessageType t) noexcept;  // "PKCSReq", ...; "unknown" otherwise
const char* to_string(PkiStatus s) noexcept;    // "SUCCESS", "FAILURE", "PENDING"
const char* to_string(FailInfo f) noexcept;     // "badAlg", ...

// A request the server answers with a CertRep FAILURE.
class ScepFailure : public std::runtime_error {
   public:
    ScepFailure(FailInfo info, const std::string& text) : std::runtime_error(text), info_(info) {}
    FailInfo info() const noexcept { return info_; }

   private:
    FailInfo info_;
};

// The SCEP authenticated attributes (OIDs 2.16.840.1.113733.1.9.x) plus
// failInfoText (1.3.6.1.5.5.7.24.1).
struct ScepAttributes {
    std::string transaction_id;
    int message_type = 0;            // raw value; see MessageType
    std::optional<PkiStatus> status;
    std::optional<FailInfo> fail_info;
    std::string fail_info_text;
    Bytes sender_nonce;
    Bytes recipient_nonce;
};

// What a verified pkiMessage holds.
struct SignedMessage {
    ScepAttributes attrs;
    ossl::X509Ptr signer;            // the certificate that signed it
    Digest digest = Digest::sha256;  // digest of the signature
    Bytes content;                   // encapsulated content; empty when omitted
};

// Parses a DER pkiMessage and verifies its signature against the signer
// certificate it carries (which may be self-signed; the chain is not checked
// here). Throws ScepFailure(bad_message_check) for a bad signature,
// ScepFailure(bad_request) for missing attributes, std::invalid_argument when
// the bytes are not a signed CMS message at all.
SignedMessage read_signed_message(const Bytes& der);

// The SCEP attributes of a pkiMessage without verifying anything, to echo
// the transactionID and nonce in a FAILURE for a message that did not verify.
// Returns empty attributes when they cannot be read.
ScepAttributes read_unverified_attributes(const Bytes& der) noexcept;

// Signs content (empty for FAILURE and PENDING, signed as an empty eContent) with
// the SCEP attributes. certs are included in the SignedData (the signer's
// certificate is always included).
Bytes write_signed_message(const Bytes& content, const ScepAttributes& attrs, X509* signer,
                           EVP_PKEY* key, Digest digest, const std::vector<X509*>& certs = {});

// The algorithms an EnvelopedData uses, read before decrypting.
struct EnvelopeAlgorithms {
    std::optional<ContentCipher> cipher;  // empty: one we do not know
    std::string cipher_name;              // OID text, for messages
    bool oaep = false;                    // RSA-OAEP key transport
};
EnvelopeAlgorithms inspect_envelope(const Bytes& der);

// Decrypts an EnvelopedData for one of the given recipients (tried in order).
// libctx may be a private context with the legacy provider (single DES).
Bytes open_envelope(const Bytes& der, const std::vector<std::pair<X509*, EVP_PKEY*>>& recipients,
                    OSSL_LIB_CTX* libctx);

// Encrypts content to every recipient certificate (RSA keys).
Bytes seal_envelope(const Bytes& content, const std::vector<X509*>& recipients, ContentCipher cipher,
                    bool oaep, OSSL_LIB_CTX* libctx);

// A plain SignedData over content, without SCEP attributes (GetNextCACert).
Bytes write_signed_data(const Bytes& content, X509* signer, EVP_PKEY* key, Digest digest);

// A degenerate certs-only SignedData (GetCACert, the CertRep payload); with
// a CRL instead of certificates for GetCRL.
Bytes write_certs_only(const std::vector<X509*>& certs);
Bytes write_crl_only(X509_CRL* crl);
std::vector<ossl::X509Ptr> read_certs_only(const Bytes& der);

// Fresh 16-byte nonce from the CSPRNG.
Bytes make_nonce();

}  // namespace scepter
