// Reads scepter.yaml into Config and checks everything that can be checked
// without loading keys. examples/scepter.yaml is the reference of the keys.
#include "config/ca_key.h"
#include "config/config_intune.h"
#include "config/config_template.h"
#include "config/config_yaml.h"
#include "config/ra_keys.h"
#include "scepter/config.h"
#include "util/digest_hex.h"
#include "util/header_line.h"

#include <openssl/evp.h>

#include <algorithm>

namespace scepter {
namespace {

// Each bound has a floor a real device never goes below and a ceiling that
// keeps the audit trail, the store and the claim matching cheap.
void read_input_limits(const YamlSection& lim, InputLimits& l) {
    l.max_name_bytes = std::size_t(lim.integer_or("max_name_length", 256, 64, 4096));
    l.max_subject_bytes = std::size_t(lim.integer_or("max_subject_length", 1024, 256, 8192));
    l.max_sans = std::size_t(lim.integer_or("max_sans", 32, 1, 1000));
    l.max_transaction_id_bytes = std::size_t(lim.integer_or("max_transaction_id_length", 128, 32, 1024));
    l.max_nonce_bytes = std::size_t(lim.integer_or("max_nonce_length", 64, 16, 1024));
}

// policy_limits: at the top level (defaults) and in a profile (overrides,
// key by key). The floors leave room for any real policy; the ceilings keep
// one evaluation from holding a worker thread for long.
PolicyLimits read_policy_limits(const YamlSection& s, PolicyLimits l) {
    s.allow_only({"instructions", "memory_mb", "time_ms", "pattern_subject_bytes"});
    l.max_instructions = s.integer_or("instructions", long(l.max_instructions), 1000, 1'000'000'000);
    l.max_memory_bytes = std::size_t(s.integer_or("memory_mb", long(l.max_memory_bytes >> 20), 1, 1024)) << 20;
    l.max_time_ms = s.integer_or("time_ms", long(l.max_time_ms), 10, 60'000);
    l.max_pattern_subject_bytes =
        std::size_t(s.integer_or("pattern_subject_bytes", long(l.max_pattern_subject_bytes), 256, 65536));
    return l;
}


ContentCipher parse_cipher(const YamlSection& s, const std::string& v) {
    static const std::map<std::string, ContentCipher> names = {
        {"des", ContentCipher::des}, {"des3", ContentCipher::des3}, {"aes128", ContentCipher::aes128},
        {"aes192", ContentCipher::aes192}, {"aes256", ContentCipher::aes256}};
    auto it = names.find(v);
    if (it == names.end()) s.fail_at("ciphers", "unknown cipher '" + v + "' (des, des3, aes128, aes192, aes256)");
    return it->second;
}

Digest parse_digest(const YamlSection& s, const std::string& key, const std::string& v) {
    static const std::map<std::string, Digest> names = {
        {"md5", Digest::md5}, {"sha1", Digest::sha1}, {"sha256", Digest::sha256},
        {"sha384", Digest::sha384}, {"sha512", Digest::sha512}};
    auto it = names.find(v);
    if (it == names.end()) s.fail_at(key, "unknown digest '" + v + "' (sha1, sha256, sha384, sha512, md5)");
    return it->second;
}

void read_algorithms(const YamlSection& s, Profile& p) {
    p.allow_legacy_clients = s.boolean_or("allow_legacy_clients", false);
    if (s.has("ciphers")) {
        p.ciphers.clear();
        for (const auto& c : s.list("ciphers")) p.ciphers.insert(parse_cipher(s, c));
    }
    if (s.has("digests")) {
        p.digests.clear();
        for (const auto& d : s.list("digests")) p.digests.insert(parse_digest(s, "digests", d));
    }
    if (p.ciphers.empty()) s.fail_at("ciphers", "must list at least one cipher");
    if (p.digests.empty()) s.fail_at("digests", "must list at least one digest");
    // RFC 8894 §2.9: single DES and MD5 MUST NOT be supported; we allow them
    // only where the admin says this profile serves legacy clients.
    if (!p.allow_legacy_clients && p.ciphers.count(ContentCipher::des))
        s.fail_at("ciphers", "single DES needs allow_legacy_clients: true");
    if (!p.allow_legacy_clients && p.digests.count(Digest::md5))
        s.fail_at("digests", "MD5 needs allow_legacy_clients: true");
    p.response_digest = parse_digest(s, "response_digest", s.string_or("response_digest", "sha256"));
    if (p.response_digest == Digest::md5) s.fail_at("response_digest", "MD5 is never used to sign");
}

void read_one_time(const YamlSection& s, OneTimeChallenges& o) {
    s.allow_only({"validity_minutes", "max_per_requester"});
    o.enabled = true;
    o.validity_minutes = int(s.integer_or("validity_minutes", 60, 1, 60 * 24 * 30));
    o.max_per_requester = std::size_t(s.integer_or("max_per_requester", 5, 0, 1000000));
}

void read_challenge(const YamlSection& s, Profile& p) {
    s.allow_only({"static", "static_sha256", "one_time"});
    if (s.has("one_time")) read_one_time(s.section("one_time"), p.challenge.one_time);
    if (s.has("static") && s.has("static_sha256")) s.fail("give either static or static_sha256, not both");
    if (s.has("static")) p.challenge.static_sha256 = digest_hex(s.string("static"), EVP_sha256());
    if (s.has("static_sha256")) {
        auto h = canonical_digest_hex(s.string("static_sha256"), 32);
        if (!h) s.fail_at("static_sha256", "must be 64 hex digits");
        p.challenge.static_sha256 = *h;
    }
}

// What the validation client would refuse in the worker is refused here,
// where the admin sees it (nginx -t, apachectl configtest, scepter config
// check). Entries are named by position: a value may be a credential.
void check_header_lines(const YamlSection& s, const std::vector<std::string>& headers) {
    for (std::size_t i = 0; i < headers.size(); ++i) {
        std::string problem = header_line_problem(headers[i]);
        if (problem.empty()) continue;
        int line = s.raw("headers")[i].Mark().line + 1;
        throw ConfigError(s.config().path, line, s.child_key("headers"),
                          "entry " + std::to_string(i + 1) + " " + problem);
    }
}

ExternalValidationSettings read_external_validation(const YamlSection& s) {
    s.allow_only({"validate_url", "success_url", "failure_url", "timeout_ms", "retries", "caller_info", "headers"});
    ExternalValidationSettings e;
    e.validate_url = s.string("validate_url");
    e.success_url = s.string_or("success_url", "");
    e.failure_url = s.string_or("failure_url", "");
    for (const char* key : {"validate_url", "success_url", "failure_url"}) {
        std::string url = s.string_or(key, "");
        if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
            s.fail_at(key, "must be an http:// or https:// URL");
        if (url.find_first_of(" \t\r\n") != std::string::npos) s.fail_at(key, "must not contain white space");
    }
    e.timeout_ms = int(s.integer_or("timeout_ms", 5000, 100, 120000));
    e.retries = int(s.integer_or("retries", 2, 0, 10));
    e.caller_info = s.string_or("caller_info", "Scepter");
    if (e.caller_info.find_first_of("\r\n") != std::string::npos) s.fail_at("caller_info", "must be one line");
    e.headers = s.list("headers");
    check_header_lines(s, e.headers);
    return e;
}

void check_template_ref(const YamlSection& s, const std::string& key, const std::string& name) {
    if (!s.config().templates.count(name)) s.fail_at(key, "names no template '" + name + "'");
}

void read_renewal(const YamlSection& s, RenewalConfig& r) {
    s.allow_only({"enabled", "window_days", "revoke_old"});
    r.enabled = s.boolean_or("enabled", true);
    r.window_days = int(s.integer_or("window_days", 30, 0, 36500));
    r.revoke_old = s.boolean_or("revoke_old", false);
}

GetCertAccess read_get_cert(const YamlSection& s) {
    std::string v = s.string_or("get_cert", "holder_only");
    if (v == "off") return GetCertAccess::off;
    if (v == "holder_only") return GetCertAccess::holder_only;
    if (v == "any") return GetCertAccess::any;
    s.fail_at("get_cert", "must be off, holder_only or any");
}

Profile read_profile(const YamlSection& s, const std::string& name) {
    s.allow_only({"template", "templates_by_key_usage", "challenge", "ciphers", "digests",
                  "allow_legacy_clients", "response_digest", "renewal", "get_cert", "get_crl", "policy",
                  "policy_limits", "external_validation", "intune"});
    Profile p;
    p.name = name;
    if (s.has("templates_by_key_usage")) {
        YamlSection k = s.section("templates_by_key_usage");
        k.allow_only({"signature", "encryption", "general_purpose"});
        TemplateByKeyUsage by{k.string("signature"), k.string("encryption"), k.string("general_purpose")};
        check_template_ref(k, "signature", by.signature);
        check_template_ref(k, "encryption", by.encryption);
        check_template_ref(k, "general_purpose", by.general_purpose);
        p.by_key_usage = by;
    } else {
        p.template_name = s.string("template");
        check_template_ref(s, "template", p.template_name);
    }
    if (s.has("template") && s.has("templates_by_key_usage"))
        s.fail_at("template", "give either template or templates_by_key_usage, not both");
    if (s.has("challenge")) read_challenge(s.section("challenge"), p);
    read_algorithms(s, p);
    if (s.has("renewal")) read_renewal(s.section("renewal"), p.renewal);
    p.get_cert = read_get_cert(s);
    p.get_crl = s.boolean_or("get_crl", true);
    if (s.has("policy")) p.policy_path = s.readable_file("policy");
    p.policy_limits = s.config().policy_limits;
    if (s.has("policy_limits")) p.policy_limits = read_policy_limits(s.section("policy_limits"), p.policy_limits);
    if (s.has("external_validation")) p.external_validation = read_external_validation(s.section("external_validation"));
    if (s.has("intune")) {
        if (p.external_validation)
            s.fail_at("intune", "give either external_validation or intune, not both (intune finds its own URLs)");
        p.intune = read_intune(s.section("intune"));
    }
    return p;
}

void read_crl(const YamlSection& s, CrlConfig& crl) {
    s.allow_only({"validity_hours", "refresh_hours", "distribution_url", "path"});
    crl.validity_hours = int(s.integer_or("validity_hours", 168, 1, 24 * 3650));
    crl.refresh_hours = int(s.integer_or("refresh_hours", 24, 0, 24 * 3650));
    if (crl.refresh_hours >= crl.validity_hours) s.fail_at("refresh_hours", "must be shorter than validity_hours");
    crl.distribution_url = s.string_or("distribution_url", "");
    if (crl.distribution_url.find_first_of(", \t") != std::string::npos)
        s.fail_at("distribution_url", "must not contain commas or spaces");
    if (!crl.distribution_url.empty() && crl.distribution_url.rfind("http://", 0) != 0)
        s.fail_at("distribution_url", "must be a plain http:// URL (relying parties fetch CRLs without TLS)");
    crl.path = s.string_or("path", "");
    if (!crl.path.empty() && crl.path[0] != '/') s.fail_at("path", "must be a URI path starting with /");
}

// A URL relying parties fetch without TLS (RFC 5280 §4.2.2.1), written
// into certificates as one AIA entry: no list separators.
void check_plain_http_url(const YamlSection& s, const std::string& key, const std::string& url) {
    if (url.empty()) return;
    if (url.find_first_of(", \t\r\n") != std::string::npos) s.fail_at(key, "must not contain commas or spaces");
    if (url.rfind("http://", 0) != 0) s.fail_at(key, "must be a plain http:// URL (relying parties fetch it without TLS)");
}

void read_ocsp(const YamlSection& s, OcspConfig& o) {
    s.allow_only({"url", "next_update_hours", "responder_validity_hours", "responder_cert", "responder_key",
                  "revocation_check_ms", "cache_entries"});
    o.url = s.string_or("url", "");
    check_plain_http_url(s, "url", o.url);
    o.next_update_hours = int(s.integer_or("next_update_hours", 24, 1, 24 * 366));
    o.responder_validity_hours = int(s.integer_or("responder_validity_hours", 72, 2, 24 * 366));
    // The responder certificate is renewed once fewer than next_update_hours
    // remain, so that every response can be valid for its whole window.
    if (o.responder_validity_hours <= o.next_update_hours)
        s.fail_at("responder_validity_hours", "must be longer than next_update_hours");
    if (s.has("responder_cert") != s.has("responder_key"))
        s.fail_at(s.has("responder_cert") ? "responder_cert" : "responder_key",
                  "responder_cert and responder_key go together");
    if (s.has("responder_cert")) o.responder = KeyPairFiles{s.readable_file("responder_cert"), s.readable_file("responder_key")};
    o.revocation_check_ms = int(s.integer_or("revocation_check_ms", 1000, 0, 3'600'000));
    o.cache_entries = std::size_t(s.integer_or("cache_entries", 10000, 0, 10'000'000));
}

NextCaConfig read_next_ca(const YamlSection& s) {
    s.allow_only({"cert", "ra_certs", "chain"});
    NextCaConfig n;
    n.cert = s.readable_file("cert");
    for (const auto& c : s.list("ra_certs")) n.ra_certs.push_back(resolve_path(s.config().path, c));
    for (const auto& c : s.list("chain")) n.chain.push_back(resolve_path(s.config().path, c));
    return n;
}

AuditGetRequests read_audit(const YamlSection& s) {
    s.allow_only({"get_requests"});
    const std::string v = s.string_or("get_requests", "all");
    if (v == "all") return AuditGetRequests::all;
    if (v == "none") return AuditGetRequests::none;
    if (v == "first_per_client_per_minute") return AuditGetRequests::first_per_client_per_minute;
    s.fail_at("get_requests", "must be all, none or first_per_client_per_minute");
}

// Several nodes share one PostgreSQL; the password stays out of the YAML.
void read_postgresql(const YamlSection& s, Config& cfg) {
    if (s.has("sqlite")) s.fail_at("postgresql", "choose one store: sqlite or postgresql, not both");
    if (s.has("synchronous")) s.fail_at("synchronous", "is a SQLite setting; PostgreSQL has its own synchronous_commit");
    cfg.pg_conninfo = s.string_or("postgresql", "");
    if (cfg.pg_conninfo.empty()) s.fail_at("postgresql", "must be a libpq connection string or URI");
    std::string problem = pg_conninfo_problem(cfg.pg_conninfo);
    if (!problem.empty()) s.fail_at("postgresql", problem);
    if (s.has("postgresql_password_file")) cfg.pg_password_file = s.readable_file("postgresql_password_file");
}

void read_store(const YamlSection& s, Config& cfg) {
    s.allow_only({"sqlite", "busy_timeout_ms", "synchronous", "postgresql", "postgresql_password_file"});
    if (s.has("postgresql")) {
        read_postgresql(s, cfg);
        return;
    }
    if (s.has("postgresql_password_file")) s.fail_at("postgresql_password_file", "needs store.postgresql");
    cfg.sqlite_path = s.path("sqlite");
    cfg.busy_timeout_ms = int(s.integer_or("busy_timeout_ms", 5000, 0, 600000));
    const std::string sync = s.string_or("synchronous", "full");
    if (sync == "full")
        cfg.sqlite_sync = SqliteSync::full;
    else if (sync == "normal")
        cfg.sqlite_sync = SqliteSync::normal;
    else
        s.fail_at("synchronous", "must be full or normal");
}

template <typename Fn>
void for_each_entry(const YamlSection& parent, const std::string& key, Fn fn) {
    YamlSection map = parent.section(key);
    for (const auto& kv : map.node()) {
        std::string name = kv.first.as<std::string>();
        fn(YamlSection(kv.second, map.child_key(name), parent.config()), name);
    }
    if (map.node().size() == 0) parent.fail_at(key, "must define at least one entry");
}

}  // namespace

Config load_config(const std::string& path) {
    Config cfg;
    cfg.path = path;
    YAML::Node root = parse_yaml_file(path);
    if (!root.IsMap()) throw ConfigError(path, 1, "", "the file must be a YAML mapping");
    YamlSection top(root, "", cfg);
    top.allow_only({"audit_log", "audit", "store", "ca", "ra", "limits", "policy_limits", "crl", "ocsp", "next_ca",
                    "status_dir", "admin", "templates", "profiles"});
    if (top.has("status_dir")) cfg.status_dir = top.path("status_dir");
    if (top.has("admin")) {
        YamlSection admin = top.section("admin");
        admin.allow_only({"allow_without_authentication"});
        cfg.admin.allow_without_authentication = admin.boolean_or("allow_without_authentication", false);
    }
    if (top.has("audit_log")) cfg.audit_log = top.path("audit_log");
    if (top.has("audit")) cfg.audit_get_requests = read_audit(top.section("audit"));
    read_store(top.section("store"), cfg);
    YamlSection ca = top.section("ca");
    ca.allow_only({"cert", "key", "chain", "issuers_url", "pkcs11_module", "key_pin_file"});
    read_ca_key(ca, cfg);
    cfg.ca_issuers_url = ca.string_or("issuers_url", "");
    check_plain_http_url(ca, "issuers_url", cfg.ca_issuers_url);
    for (const auto& c : ca.list("chain")) cfg.ca_chain.push_back(resolve_path(cfg.path, c));
    if (top.has("ra")) read_ra(top.section("ra"), cfg);
    if (top.has("limits")) {
        YamlSection lim = top.section("limits");
        lim.allow_only({"max_message_bytes", "max_name_length", "max_subject_length", "max_sans",
                        "max_transaction_id_length", "max_nonce_length"});
        cfg.max_message_bytes = std::size_t(lim.integer_or("max_message_bytes", 65536, 1024, 16 << 20));
        read_input_limits(lim, cfg.input_limits);
    }
    if (top.has("policy_limits")) cfg.policy_limits = read_policy_limits(top.section("policy_limits"), {});
    if (top.has("crl")) read_crl(top.section("crl"), cfg.crl);
    if (top.has("ocsp")) read_ocsp(top.section("ocsp"), cfg.ocsp);
    if (top.has("next_ca")) cfg.next_ca = read_next_ca(top.section("next_ca"));
    for_each_entry(top, "templates", [&](const YamlSection& s, const std::string& name) {
        cfg.templates[name] = read_template(s, name);
    });
    for_each_entry(top, "profiles", [&](const YamlSection& s, const std::string& name) {
        cfg.profiles[name] = read_profile(s, name);
    });
    return cfg;
}

}  // namespace scepter
