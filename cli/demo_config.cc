// The scepter.yaml that `scepter init` writes. It follows
// examples/scepter.yaml (the reference for every key) and mirrors NDES:
// three templates chosen by the CSR's key usage, like the MSCEP registry
// values SignatureTemplate, EncryptionTemplate and GeneralPurposeTemplate.
#include "demo_pki.h"

namespace scepter::cli {
namespace {

constexpr const char* kHeader = R"yaml(# Scepter configuration written by `scepter init` (a demo PKI: the keys in
# this directory are unencrypted; do not use them for anything real).
# examples/scepter.yaml documents every key. Relative paths are resolved
# against the directory of this file.

# Every enrollment step as one JSON line.
audit_log: audit.log

store:
  # SQLite in WAL mode, shared by all workers. state/ must be writable by the
  # worker user (www-data on Debian).
  sqlite: state/scepter.db
  busy_timeout_ms: 5000

ca:
  cert: ca.pem
  key: ca.key
  chain: []

# NDES's layout: an RA signing certificate ("Enrollment Agent (Offline
# request)") signs the CertReps, an RA encryption certificate ("CEP
# Encryption") is the one clients encrypt their requests to.
ra:
  signing:
    cert: ra-sign.pem
    key: ra-sign.key
  encryption:
    cert: ra-enc.pem
    key: ra-enc.key

limits:
  max_message_bytes: 65536

# The CA's CRL: signed by the CA, republished on every revocation
# (`scepter certs revoke`) and before nextUpdate. Any location that runs
# scepter serves it at `path`; set distribution_url (a plain http:// URL of
# that path) to put it into issued certificates' CRL Distribution Points.
crl:
  validity_hours: 168
  refresh_hours: 24
  path: /scep/ca.crl

)yaml";

// Parts every template shares; only usages and key types differ.
constexpr const char* kTemplateCommon = R"yaml(    subject:
      allowed: [CN, O, OU, C, ST, L, emailAddress, serialNumber, DC, UID]
      required: [CN]
    san:
      allowed: [dns, email, uri, ip, upn]
    template_name_extension: true
    on_excess_request: reject
)yaml";

std::string template_yaml(const std::string& name, const std::string& comment,
                          const std::string& key_usage, const std::string& eku,
                          const std::string& key_types) {
    return "  # " + comment + "\n  " + name +
           ":\n"
           "    validity_days: 365\n"
           "    max_validity_days: 365\n"
           "    key_usage: [" + key_usage + "]\n"
           "    extended_key_usage: [" + eku + "]\n"
           "    keys:\n"
           "      types: [" + key_types + "]\n"
           "      min_rsa_bits: 2048\n" +
           kTemplateCommon;
}

std::string templates_yaml() {
    return "templates:\n" +
           template_yaml("signature", "NDES's SignatureTemplate: keys that only sign.",
                         "digitalSignature", "clientAuth", "rsa, ec") +
           template_yaml("encryption",
                         "NDES's EncryptionTemplate. RSA only: keyEncipherment means RSA key "
                         "transport.",
                         "keyEncipherment", "clientAuth", "rsa") +
           template_yaml("general_purpose",
                         "NDES's GeneralPurposeTemplate: signing and key transport (RSA only).",
                         "digitalSignature, keyEncipherment", "clientAuth, serverAuth", "rsa") +
           "\n";
}

std::string profile_yaml(const std::string& name, const std::string& comment,
                         const std::string& challenge, bool legacy) {
    std::string out = "  # " + comment + "\n  " + name + ":\n" +
                      "    templates_by_key_usage:\n"
                      "      signature: signature\n"
                      "      encryption: encryption\n"
                      "      general_purpose: general_purpose\n"
                      "    challenge:\n"
                      "      # One-time challenges (NDES's mscep_admin passwords): from the admin\n"
                      "      # locations or `scepter challenge`; single use, hashed in the store.\n"
                      "      one_time:\n"
                      "        validity_minutes: 60    # NDES's PasswordValidity\n"
                      "        max_per_requester: 5    # NDES's PasswordMax (0: no limit)\n"
                      "      # A static password as well (NDES's UseSinglePassword), random, written\n"
                      "      # by scepter init. `static_sha256: HEX` would keep only its hash here.\n"
                      "      static: " + challenge + "\n";
    if (legacy) {
        out += "    allow_legacy_clients: true\n"
               "    ciphers: [des, des3, aes128, aes192, aes256]\n"
               "    digests: [sha1, sha256, sha384, sha512]\n";
    } else {
        out += "    allow_legacy_clients: false\n"
               "    ciphers: [aes128, aes192, aes256]\n"
               "    digests: [sha256, sha384, sha512]\n";
    }
    return out + "    response_digest: sha256\n"
                 "    # RenewalReq signed with the current certificate, no challenge.\n"
                 "    renewal:\n"
                 "      enabled: true\n"
                 "      window_days: 30\n"
                 "      revoke_old: true\n"
                 "    get_cert: holder_only\n"
                 "    get_crl: true\n";
}

}  // namespace

std::string demo_config_yaml(const std::string& challenge, const std::string& crl_url,
                             const std::vector<std::string>& chain_files, const TokenKeySettings* ca_token) {
    std::string head = kHeader;
    if (ca_token) {
        head.replace(head.find("  key: ca.key\n"), 14,
                     "  # The CA key stays in a PKCS#11 token; the PIN is the first line of\n"
                     "  # key_pin_file, which the workers' user must be able to read.\n"
                     "  key: \"" + ca_token->uri + "\"\n  pkcs11_module: " + ca_token->module +
                         "\n  key_pin_file: " + ca_token->pin_file + "\n");
    }
    if (!chain_files.empty()) {
        std::string list;
        for (const auto& f : chain_files) list += (list.empty() ? "" : ", ") + f;
        head.replace(head.find("  chain: []\n"), 12, "  chain: [" + list + "]\n");
    }
    if (!crl_url.empty()) {
        const std::string path_line = "  path: /scep/ca.crl\n";
        head.insert(head.find(path_line) + path_line.size(), "  distribution_url: " + crl_url + "\n");
    }
    return head + templates_yaml() + "profiles:\n" +
           profile_yaml("default", "Strict: AES content encryption, SHA-2 signatures only.",
                        challenge, false) +
           profile_yaml("legacy",
                        "For old clients, e.g. micromdm's scepclient, which signs with SHA-1\n"
                        "  # and encrypts with single DES. Serve it on its own location.",
                        challenge, true);
}

}  // namespace scepter::cli
