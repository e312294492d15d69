// The certificate and key that sign OCSP responses: a delegated responder
// (RFC 6960 §4.2.2.2) the CA issues itself, or one the admin configured.
#pragma once

#include "ca/ca_material.h"
#include "scepter/config.h"

#include <cstdint>

namespace scepter {

struct OcspSigner {
    KeyPair pair;
    std::int64_t not_after = 0;  // unix seconds: no response may outlive it
    std::int64_t renew_at = 0;   // 0: never (the admin's certificate)
};

// A fresh key (RSA-2048 under an RSA CA, the CA's curve under an EC CA) and
// a certificate for it signed by the CA: extendedKeyUsage id-kp-OCSPSigning,
// id-pkix-ocsp-nocheck (relying parties do not ask about the responder),
// valid for validity_hours from now and never past the CA. The key exists
// only in this process's memory. renew_at leaves a whole response window.
OcspSigner issue_ocsp_signer(const KeyPair& ca, int validity_hours, int next_update_hours);

// The responder pair ocsp.responder_cert/responder_key name: issued by the
// CA, for id-kp-OCSPSigning, its key. Throws ConfigError.
OcspSigner load_ocsp_signer(const Config& cfg, const KeyPair& ca);

}  // namespace scepter
