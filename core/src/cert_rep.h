// CertRep (RFC 8894 §3.3.2): signed by the RA (or the CA acting as RA),
// transactionID echoed, recipientNonce = the request's senderNonce, a fresh
// senderNonce, and for SUCCESS the certs-only payload enveloped to the
// requester's signer key.
#pragma once

#include "ca_material.h"
#include "scepter/config.h"
#include "scepter/pki_message.h"

namespace scepter {

Bytes cert_rep_failure(const CaMaterial& ca, const Profile& p, const ScepAttributes& request, FailInfo info,
                       const std::string& text);

// cipher: the request's, or a stronger one; libctx holds it (legacy for DES).
Bytes cert_rep_success(const CaMaterial& ca, const Profile& p, const ScepAttributes& request, X509* requester,
                       X509* issued, ContentCipher cipher, OSSL_LIB_CTX* libctx);

}  // namespace scepter
