// `scepter init`: a demo PKI in one directory, laid out like NDES (a CA, an
// RA signing certificate, an RA encryption certificate) plus a scepter.yaml
// that uses it. For tests and first steps, not for production keys.
#pragma once

#include "scepter/config.h"

#include <optional>
#include <string>
#include <vector>

namespace scepter::cli {

// File names inside the init directory; the YAML refers to them relatively.
inline constexpr const char* kConfigFile = "scepter.yaml";
inline constexpr const char* kCaCertFile = "ca.pem";
inline constexpr const char* kCaKeyFile = "ca.key";
inline constexpr const char* kRaSignCertFile = "ra-sign.pem";
inline constexpr const char* kRaSignKeyFile = "ra-sign.key";
inline constexpr const char* kRaEncCertFile = "ra-enc.pem";
inline constexpr const char* kRaEncKeyFile = "ra-enc.key";
inline constexpr const char* kStateDir = "state";
inline constexpr const char* kStoreFile = "state/scepter.db";
inline constexpr const char* kAuditLogFile = "audit.log";
inline constexpr const char* kNextCaDir = "next";

struct DemoPkiOptions {
    std::string dir;
    std::string ca_common_name = "Scepter Demo CA";
    bool force = false;  // replace the files of an earlier init
    std::string crl_url;  // crl.distribution_url; empty: none
    // The CA's key, one of ca_key_choices(). The RA pairs stay RSA-2048
    // whatever the CA is: clients encrypt their requests to the RA.
    std::string ca_key = "rsa:2048";
    // An existing CA instead of a new one: a PKCS#12 file and its password
    // (--import-ca). Its chain, as far as the file has it, goes to chain-N.pem.
    std::string import_p12;
    std::string p12_password;
    // A subordinate CA's signed certificate and the PEM file with its root
    // (--install-ca-cert, --chain): the key is DIR/ca.key from
    // write_subordinate_request.
    std::string install_ca_cert;
    std::string install_chain;
    // The CA key in a PKCS#11 token (--ca-key-uri, --pkcs11-module,
    // --pin-file): an existing key pair; the CA certificate and the RA
    // certificates are signed inside the token, and the config names the URI.
    std::optional<TokenKeySettings> ca_token;
};

struct DemoPkiResult {
    std::string config_path;  // absolute
    std::string ca_cert_path; // absolute
    std::string challenge;
};

// Writes keys (0600), certificates (0644), state/ (0750) and scepter.yaml
// (0600: it holds the challenge). Without force, refuses when any of the
// files exists. Throws std::runtime_error (also for a ca_key not among
// ca_key_choices()).
DemoPkiResult write_demo_pki(const DemoPkiOptions& options);

inline constexpr const char* kCaRequestFile = "ca.csr";

// `scepter ra renew`: a new RSA-2048 key and certificate for the RA pair
// `ra`, issued by the CA (same common name and key usage; valid 730 days or
// until the CA ends), written over ra's files after keeping them as
// FILE.prev. Returns a line for the admin.
std::string renew_ra_pair(const Config& cfg, const KeyPairFiles& ra, const char* key_usage);

// `scepter init --subordinate`: DIR/ca.key (options.ca_key) and DIR/ca.csr,
// a PKCS#10 request asking for CA:TRUE (pathlen 0) with keyCertSign and
// cRLSign, for the corporate root to sign. Returns the request's path.
std::string write_subordinate_request(const DemoPkiOptions& options);

// CA rollover: a new CA with its two RA certificates in DIR/next/ (the
// current PKI stays as it is). Returns the `next_ca:` YAML that announces
// them through GetNextCACert. Throws std::runtime_error.
std::string write_next_ca(const DemoPkiOptions& options);

// The --ca-key values init accepts: "ec:P-256|ec:P-384|rsa:2048|rsa:3072|rsa:4096".
std::string ca_key_choices();
bool is_ca_key_choice(const std::string& spec);

// The files write_demo_pki would create, relative to the directory.
std::vector<std::string> demo_pki_files();

// A random password of [A-Za-z0-9] carrying at least min_bits of entropy.
std::string random_challenge(int min_bits = 128);

// The commented scepter.yaml for the demo PKI (demo_config.cc).
// crl_url, when given, goes into issued certificates' CRL Distribution Points.
// chain_files: ca.chain, the CA's issuer first. ca_token: ca.key is its URI,
// with ca.pkcs11_module and ca.key_pin_file.
std::string demo_config_yaml(const std::string& challenge, const std::string& crl_url = "",
                             const std::vector<std::string>& chain_files = {},
                             const TokenKeySettings* ca_token = nullptr);

}  // namespace scepter::cli
