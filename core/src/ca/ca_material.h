// The CA and RA certificates and keys of one configuration generation,
// loaded once at configuration time and shared read-only by all requests.
#pragma once

#include "scepter/config.h"
#include "scepter/ossl.h"
#include "scepter/pki_message.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace scepter {

struct KeyPair {
    ossl::X509Ptr cert;
    ossl::PKey key;
};

struct CaMaterial {
    KeyPair ca;  // ca.key is null until load_ca_token_key when it lives in a token
    std::vector<ossl::X509Ptr> chain;  // above the CA, up to the root
    KeyPair ra_signing;                // the CA's own pair when the CA acts as RA
    KeyPair ra_encryption;             // ra_signing's pair when there is one RA pair
    // (an RA key in a token is null until load_ra_token_keys)
    bool ca_is_ra = true;
    // Private library context with the legacy provider, created only when a
    // profile accepts single DES; the process's default context (and so the
    // web server's TLS) never sees the legacy provider.
    ossl::LibCtx legacy_ctx;
    ossl::Provider legacy_provider;
    ossl::Provider legacy_default_provider;

    // The keys that may open a request envelope, the encryption pair first.
    std::vector<std::pair<X509*, EVP_PKEY*>> decryption_keys() const;
    // GetCACert: content type and body, computed once.
    std::string getcacert_type;
    Bytes getcacert_body;
    // GetNextCACert (CA rollover): the next CA's RA certificates, CA and chain
    // as certs-only, signed by the current RA; empty without next_ca, and
    // until load_ra_token_keys when the RA signing key is in a token.
    std::vector<ossl::X509Ptr> next_certs;
    Bytes getnextcacert_body;
    // Per profile: the certificate and key an `intune:` block signs its
    // client assertions with (client_certificate, client_key).
    std::map<std::string, KeyPair> intune_clients;
};

// A certificate and its key from PEM files, checked to belong together.
// Errors name `key`.cert / `key`.key, or cert_key / key_key when given.
KeyPair read_pair(const Config& cfg, const std::string& key, const KeyPairFiles& files,
                  const std::string& cert_key = "", const std::string& key_key = "");

// Loads and cross-checks every certificate and key the configuration names,
// except keys in a token (see load_ca_token_key, load_ra_token_keys: never in
// a web server's master or parent, since a PKCS#11 session does not survive
// fork). Checks that need an RA key (RSA for decryption) use its certificate.
// Throws ConfigError pointing at the offending key.
CaMaterial load_ca_material(const Config& cfg);

// A CA key in a token (cfg.ca_token): loads it in this process and checks
// that it is the CA certificate's key (EVP_PKEY_eq). Nothing for a key file
// or a key already loaded. Throws std::runtime_error naming what failed; the
// PIN never appears in it.
void load_ca_token_key(const Config& cfg, CaMaterial& m);

// The RA keys in the token (cfg.ra_signing_token, ra_encryption_token): loads
// those not loaded yet in this process, checks each against its certificate,
// then signs what waited for the RA signing key (GetNextCACert). Throws
// std::runtime_error naming the configuration key (ra.signing.key, ...).
void load_ra_token_keys(const Config& cfg, CaMaterial& m);

// For a configuration check, which exits afterwards: every key of cfg in a
// token is loaded, checked against its certificate and let go. Throws
// std::runtime_error naming the configuration key that failed.
void check_token_keys(const Config& cfg, const CaMaterial& m);

// The digest the CA signs with (certificates, CRLs): SHA-256 for RSA and
// P-256, SHA-384 for P-384, SHA-512 for P-521, so the hash is never weaker
// than the curve (RFC 5480 section 4). The key is one load_ca_material
// accepted (RSA, or EC on a NIST curve).
const EVP_MD* ca_signature_digest(EVP_PKEY* ca_key);

// The CA's subject in OpenSSL's one-line form ("/CN=.../O=..."): what the
// success notification reports as issuingCertificateAuthority and what
// downloadRevocationRequests then asks for as issuerName.
std::string issuing_ca_name(const CaMaterial& m);

// Lower-case hex SHA-1 / SHA-256 of a certificate's DER.
std::string thumbprint(X509* cert, const EVP_MD* md);

}  // namespace scepter
