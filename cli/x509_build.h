// Building keys, certificates and requests for the CLI's PKI commands
// (`init`, `init --subordinate`, `ra renew`): the one copy of each step, so
// the demo PKI, an imported CA's RA pairs and a renewed RA pair are made
// the same way. Every function throws std::runtime_error with OpenSSL's
// reasons on failure.
#pragma once

#include "scepter/ossl.h"

#include <filesystem>
#include <string>
#include <vector>

namespace scepter::cli {

inline constexpr int kRaRsaBits = 2048;
inline constexpr long kCaDays = 3650;
inline constexpr long kRaDays = 730;

// Throws with the drained OpenSSL error queue when ok is false.
void ossl_check(bool ok, const std::string& what);

// A CA key choice: each is a key the core signs with (ca_signature_digest)
// and every client the suite runs can verify.
struct CaKeyChoice {
    const char* spec;   // "ec:P-256", "rsa:2048", ...
    const char* curve;  // nullptr: RSA
    int rsa_bits;
};
const CaKeyChoice& ca_key_choice(const std::string& spec);  // throws for an unknown spec
const std::vector<CaKeyChoice>& all_ca_key_choices();

ossl::PKey generate_rsa_key(int bits);
ossl::PKey generate_key(const CaKeyChoice& choice);

// The digest the signer's key calls for, as the core chooses it for what
// the CA signs at run time (ca_signature_digest).
const EVP_MD* digest_for(EVP_PKEY* signing_key);

struct CertSpec {
    std::string common_name;
    long days;
    bool is_ca;
    const char* key_usage;  // openssl.cnf syntax
    // The subject's other attributes (O, OU, C, ...) come from this name,
    // its CNs left out; nullptr: O=Scepter Demo. RA certificates take their
    // CA's, so an imported corporate CA's RAs carry the organisation's name.
    const X509_NAME* name_base = nullptr;
};

// issuer/issuer_key null: self-signed with subject_key.
ossl::X509Ptr issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key);

struct Issued {
    ossl::PKey key;
    ossl::X509Ptr cert;
};

std::string cert_pem(X509* cert);
std::string request_pem(X509_REQ* req);
// PKCS#8, unencrypted (the web server reads it unattended), mode 0600.
void write_key(const std::filesystem::path& path, EVP_PKEY* key);
void write_pair(const std::filesystem::path& dir, const Issued& pair, const char* cert_file, const char* key_file);

// Without --force, nothing is written over a file a command would write.
void refuse_existing_files(const std::filesystem::path& dir, const std::vector<std::string>& names);

// The CA's common name, for naming its RA certificates after it.
std::string common_name_of(X509* cert);

// An RA certificate's days: kRaDays, or fewer when the CA (imported, or
// renewing its RAs late in life) ends sooner: its RAs end with it.
long ra_days_under(X509* ca);

}  // namespace scepter::cli
