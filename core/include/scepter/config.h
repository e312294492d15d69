// The parsed, validated configuration: plain data, immutable once loaded.
// examples/scepter.yaml documents every key.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "scepter/store.h"

namespace scepter {

// A configuration mistake, with the place it was found.
class ConfigError : public std::runtime_error {
   public:
    ConfigError(const std::string& file, int line, const std::string& key, const std::string& why);
};

enum class ContentCipher { des, des3, aes128, aes192, aes256 };
enum class Digest { md5, sha1, sha256, sha384, sha512 };

struct KeyPairFiles {
    std::string cert;
    std::string key;
};

// A private key that stays inside a PKCS#11 token (ca.key, or an RA key, as
// an RFC 7512 `pkcs11:` URI): the module that reaches the token and the file
// holding the user PIN. The PIN itself is read only where the key is loaded,
// never kept.
struct TokenKeySettings {
    std::string uri;       // pkcs11:token=...;object=...;type=private
    std::string module;    // ca.pkcs11_module: the PKCS#11 module (.so)
    std::string pin_file;  // ca.key_pin_file: the PIN is its first line
    std::string config_key = "ca.key";  // the key naming it, for errors: ca.key, ra.key, ra.signing.key, ...
};

struct SubjectRules {
    std::set<std::string> allowed;   // short names: CN, O, OU, ...
    std::set<std::string> required;
};

struct Template {
    std::string name;
    int validity_days = 365;
    int max_validity_days = 365;
    std::vector<std::string> key_usage;           // digitalSignature, keyEncipherment, ...
    std::vector<std::string> extended_key_usage;  // clientAuth, serverAuth, or dotted OIDs
    SubjectRules subject;
    std::set<std::string> san_allowed;            // dns, email, uri, ip, upn
    std::vector<std::string> san_uri_prefixes;    // san.uri_prefixes: empty = any URI (when uri is allowed)
    enum class SidRule { forbid, allow, require };
    SidRule sid_extension = SidRule::forbid;      // the SID extension (1.3.6.1.4.1.311.25.2)
    std::set<std::string> key_types{"rsa", "ec"};
    int min_rsa_bits = 2048;
    bool template_name_extension = true;
    bool reject_excess = true;                    // on_excess_request: reject | drop
    bool require_approval = false;                // PENDING until an admin approves
};

struct TemplateByKeyUsage {
    std::string signature;
    std::string encryption;
    std::string general_purpose;
};

// One-time challenges (NDES's mscep_admin passwords), issued by the admin
// location or `scepter challenge`, kept hashed in the store.
struct OneTimeChallenges {
    bool enabled = false;
    int validity_minutes = 60;        // NDES's PasswordValidity
    std::size_t max_per_requester = 5;  // NDES's PasswordMax; 0 = no limit
};

struct ChallengeConfig {
    // SHA-256 of the static password (NDES's UseSinglePassword); empty: none.
    std::string static_sha256;
    OneTimeChallenges one_time;
};

// The Intune certificate connector's model: a service that must approve
// each CSR, and hears of each outcome before the device does.
struct ExternalValidationSettings {
    std::string validate_url;
    std::string success_url;
    std::string failure_url;
    int timeout_ms = 5000;
    int retries = 2;
    std::string caller_info = "Scepter";
    std::vector<std::string> headers;
};

// A real Intune tenant (docs/INTUNE.md): an Entra ID application's token,
// Graph service discovery, then the same ScepActions calls as
// external_validation. The client secret is read from its file when the
// configuration loads (the file may be root's alone) and is never written
// anywhere; the certificate credential (a signed client assertion) is
// loaded with the CA's keys.
struct IntuneSettings {
    std::string tenant;                // directory (tenant) ID or domain
    std::string client_id;             // the application (client) ID
    std::string client_secret_file;    // either this ...
    std::string client_secret;         // (its contents, trailing new lines cut)
    std::optional<KeyPairFiles> client_certificate;  // ... or this
    std::string authority = "https://login.microsoftonline.com";
    std::string graph = "https://graph.microsoft.com";
    std::string resource = "https://api.manage.microsoft.com/";  // Intune's; scope "{resource}/.default"
    std::string api_version = "2018-02-20";                        // ScepActions' api-version header
    std::string caller_info = "Scepter";                            // "callerInfo", User-Agent
    std::string ca_file;               // PEM bundle for the HTTPS endpoints; empty: the system's
    int timeout_ms = 10000;            // each call, retries included
    int retries = 2;
    // Revocation sync (PkiConnectorFEService): how often one worker of the
    // fleet downloads Intune's revocation requests (0: never), how many per
    // download (the contract's maxRequests, 1..500), and the api-version
    // header of those calls (the libraries' default, sic).
    int revocation_poll_seconds = 300;
    int revocation_max_requests = 100;
    std::string revocation_api_version = "5019-05-05";
};

// RenewalReq: authenticated by the device's current certificate, no challenge.
struct RenewalConfig {
    bool enabled = false;
    int window_days = 30;        // how long before expiry a renewal is accepted
    bool revoke_old = false;     // revoke the old certificate (superseded) on renewal
};

// What one policy call may spend (policy_limits: in the YAML, globally and
// per profile). A call over any of them fails like a policy error.
struct PolicyLimits {
    std::int64_t max_instructions = 1'000'000;  // Lua VM instructions per call
    std::size_t max_memory_bytes = 8 << 20;     // per Lua state
    std::int64_t max_time_ms = 1000;            // wall clock per call
    // The longest string the pattern functions (string.find, match, gmatch,
    // gsub) accept as subject: their C matcher backtracks out of reach of
    // the instruction count.
    std::size_t max_pattern_subject_bytes = 4096;
};

enum class GetCertAccess { off, holder_only, any };

struct Profile {
    std::string name;
    std::string template_name;                 // used when by_key_usage is empty
    std::optional<TemplateByKeyUsage> by_key_usage;
    ChallengeConfig challenge;
    std::set<ContentCipher> ciphers{ContentCipher::aes128, ContentCipher::aes192,
                                    ContentCipher::aes256};
    std::set<Digest> digests{Digest::sha256, Digest::sha384, Digest::sha512};
    bool allow_legacy_clients = false;
    Digest response_digest = Digest::sha256;
    RenewalConfig renewal;
    GetCertAccess get_cert = GetCertAccess::holder_only;
    bool get_crl = true;
    std::string policy_path;   // Lua policy (verify_request, generate_challenge, notify)
    PolicyLimits policy_limits;  // the global policy_limits, then this profile's
    std::optional<ExternalValidationSettings> external_validation;
    std::optional<IntuneSettings> intune;  // never together with external_validation
};

struct AdminConfig {
    // The admin locations refuse to serve a request that the web server did
    // not authenticate (basic auth, a verified client certificate) unless
    // this says access is controlled some other way (allow/deny by address).
    bool allow_without_authentication = false;
};

struct CrlConfig {
    int validity_hours = 168;    // nextUpdate = thisUpdate + this
    int refresh_hours = 24;      // republish when nextUpdate is closer than this
    std::string distribution_url;  // put into issued certificates' CRL Distribution Points
    std::string path;              // URI path at which a scepter location serves the CRL over HTTP
};

// The OCSP responder (RFC 6960 with RFC 5019's profile), served where a
// location says `scepter_ocsp` / `SetHandler scepter-ocsp`.
struct OcspConfig {
    std::string url;                    // put into issued certificates' AIA (id-ad-ocsp); empty: none
    int next_update_hours = 24;         // nextUpdate = thisUpdate + this
    int responder_validity_hours = 72;  // the delegated responder certificate Scepter issues itself
    std::optional<KeyPairFiles> responder;  // a responder certificate of the admin's instead
    int revocation_check_ms = 1000;     // how stale a worker's view of the store's revocations may be
    std::size_t cache_entries = 10000;  // cached responses per worker
};

// CA rollover: the certificates GetNextCACert announces.
struct NextCaConfig {
    std::string cert;
    std::vector<std::string> ra_certs;
    std::vector<std::string> chain;
};

// What a device may send, checked once when its message and CSR are read
// (limits: in the YAML). Bounds keep one request from costing the audit
// trail, the store or a regex more than a device needs.
struct InputLimits {
    std::size_t max_name_bytes = 256;           // one subject attribute or SAN value
    std::size_t max_subject_bytes = 1024;       // the whole RFC 2253 subject
    std::size_t max_sans = 32;                  // subjectAltName entries in one CSR
    std::size_t max_transaction_id_bytes = 128; // Windows and iOS send 32-64
    std::size_t max_nonce_bytes = 64;           // RFC 8894: 16 bytes
};

// Which audit lines GetCACaps, GetCACert and GetNextCACert write (audit:
// get_requests:). Monitors and devices in a retry loop can send thousands;
// every PKIOperation step is always written.
enum class AuditGetRequests {
    all,                         // one line each (the default)
    none,                        // no line
    first_per_client_per_minute  // the first of each client address and operation per minute, per worker process
};

struct Config {
    std::string path;            // the YAML file itself
    std::string audit_log;       // empty: the web server's error log
    AuditGetRequests audit_get_requests = AuditGetRequests::all;
    std::string sqlite_path;
    int busy_timeout_ms = 5000;
    SqliteSync sqlite_sync = SqliteSync::full;  // store.synchronous
    SqliteSettings store_settings(StoreUser user) const { return {busy_timeout_ms, user, sqlite_sync}; }
    // store.postgresql: a libpq conninfo or URI (never with a password);
    // empty: the SQLite store at sqlite_path.
    std::string pg_conninfo;
    std::string pg_password_file;  // store.postgresql_password_file
    bool uses_postgresql() const { return !pg_conninfo.empty(); }
    PgSettings pg_settings() const { return {pg_conninfo, pg_password_file}; }
    KeyPairFiles ca;                     // ca.key: a PEM file, or the URI of ca_token
    std::optional<TokenKeySettings> ca_token;  // set when ca.key is a pkcs11: URI
    std::vector<std::string> ca_chain;
    std::string ca_issuers_url;  // the CA certificate's URL, put into issued certificates' AIA (caIssuers)
    std::optional<KeyPairFiles> ra_signing;     // absent: the CA acts as RA
    std::optional<KeyPairFiles> ra_encryption;  // absent: ra_signing also decrypts
    // Set when that RA pair's key is a pkcs11: URI (its KeyPairFiles::key):
    // the same token module and PIN file as ca_token, which it requires.
    std::optional<TokenKeySettings> ra_signing_token;
    std::optional<TokenKeySettings> ra_encryption_token;
    std::size_t max_message_bytes = 65536;
    InputLimits input_limits;
    PolicyLimits policy_limits;  // defaults for every profile's policy_limits
    CrlConfig crl;
    OcspConfig ocsp;
    std::optional<NextCaConfig> next_ca;
    std::string status_dir;      // NDES-style status records; empty: none
    AdminConfig admin;
    std::map<std::string, Template> templates;
    std::map<std::string, Profile> profiles;
    // Line of each dotted key ("ca.key", "profiles.default.template"), so that
    // later checks (a key file that does not parse) can still point at it.
    std::map<std::string, int> lines;

    int line_of(const std::string& dotted_key) const;
};

// Parses and validates a configuration file. Throws ConfigError.
Config load_config(const std::string& path);

// The store the configuration names: PostgreSQL (store.postgresql) or the
// SQLite file (store.sqlite, created when new).
std::unique_ptr<Store> open_configured_store(const Config& cfg, StoreUser user);

const char* to_string(ContentCipher c) noexcept;
const char* to_string(Digest d) noexcept;

}  // namespace scepter
