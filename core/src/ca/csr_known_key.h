// A CSR whose public key the message's signer certificate already carries,
// read without a second run of OpenSSL 3.0's key decoder.
//
// d2i_X509_REQ decodes the SubjectPublicKeyInfo eagerly, and OpenSSL 3.0
// builds an OSSL_DECODER_CTX for it (about 0.1 ms, a twentieth of an
// enrollment's CPU). A PKCSReq's CSR and its self-signed signer certificate
// almost always hold the same key, which d2i_CMS_ContentInfo decoded already.
#pragma once

#include "scepter/ossl.h"
#include "scepter/pki_message.h"

#include <optional>

namespace scepter {

struct KnownKeyCsr {
    ossl::X509Req req;        // rebuilt field by field; its X509_PUBKEY holds no EVP_PKEY
    ossl::PKey key;           // the signer certificate's
    bool signature_verifies;  // the CSR's signature, checked over its exact DER
};

// The CSR in der read with signer's key, when its SubjectPublicKeyInfo is
// byte for byte the signer certificate's and its version is v1. Nothing
// otherwise (a different key, an unusual CSR, one that does not parse): the
// caller then reads it the ordinary way, which also gives the usual errors.
std::optional<KnownKeyCsr> read_csr_with_known_key(const Bytes& der, X509* signer);

}  // namespace scepter
