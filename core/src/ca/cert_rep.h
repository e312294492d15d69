// CertRep (RFC 8894 §3.3.2): signed by the RA (or the CA acting as RA),
// transactionID echoed, recipientNonce = the request's senderNonce, a fresh
// senderNonce; for SUCCESS a certs-only payload (certificates or a CRL)
// enveloped to the requester's signer key.
#pragma once

#include "ca/ca_material.h"
#include "scepter/config.h"
#include "scepter/pki_message.h"

namespace scepter {

Bytes cert_rep_failure(const CaMaterial& ca, const Profile& p, const ScepAttributes& request, FailInfo info,
                       const std::string& text);

Bytes cert_rep_pending(const CaMaterial& ca, const Profile& p, const ScepAttributes& request);

// certs_only: write_certs_only or write_crl_only output. cipher: the
// request's; libctx holds it (the legacy context for single DES).
Bytes cert_rep_success(const CaMaterial& ca, const Profile& p, const ScepAttributes& request, X509* requester,
                       const Bytes& certs_only, ContentCipher cipher, OSSL_LIB_CTX* libctx);

}  // namespace scepter
