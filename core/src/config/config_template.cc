// A template's keys in scepter.yaml (templates.NAME): validity, key usages,
// subject and SAN rules, key rules, the Windows identity extensions.
#include "config/config_template.h"

#include "scepter/ossl.h"

#include <openssl/objects.h>

namespace scepter {
namespace {

const std::set<std::string> kKeyUsages = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
    "keyAgreement",     "keyCertSign",    "cRLSign",         "encipherOnly",
    "decipherOnly"};
const std::set<std::string> kSanTypes = {"dns", "email", "uri", "ip", "upn"};

void read_key_rules(const YamlSection& keys, Template& t) {
    keys.allow_only({"types", "min_rsa_bits"});
    if (keys.has("types")) {
        t.key_types.clear();
        for (const auto& k : keys.list("types")) {
            if (k != "rsa" && k != "ec") keys.fail_at("types", "unknown key type '" + k + "' (rsa, ec)");
            t.key_types.insert(k);
        }
        if (t.key_types.empty()) keys.fail_at("types", "must list at least one key type");
    }
    t.min_rsa_bits = int(keys.integer_or("min_rsa_bits", 2048, 1024, 16384));
}

void read_subject_rules(const YamlSection& s, Template& t) {
    s.allow_only({"allowed", "required"});
    for (const char* which : {"allowed", "required"}) {
        for (const auto& a : s.list(which)) {
            if (OBJ_txt2nid(a.c_str()) == NID_undef)
                s.fail_at(which, "unknown subject attribute '" + a + "'");
            (std::string(which) == "allowed" ? t.subject.allowed : t.subject.required).insert(a);
        }
    }
    if (!s.has("allowed")) t.subject.allowed = {"CN", "O", "OU", "C", "ST", "L", "emailAddress",
                                                "serialNumber", "DC", "UID"};
    for (const auto& r : t.subject.required)
        if (!t.subject.allowed.count(r)) s.fail_at("required", "'" + r + "' is required but not allowed");
}

void read_usages(const YamlSection& s, Template& t) {
    t.key_usage = s.list("key_usage");
    for (const auto& ku : t.key_usage)
        if (!kKeyUsages.count(ku)) s.fail_at("key_usage", "unknown key usage '" + ku + "'");
    if (t.key_usage.empty()) s.fail_at("key_usage", "must list at least one key usage");
    t.extended_key_usage = s.list("extended_key_usage");
    for (const auto& eku : t.extended_key_usage) {
        ossl::Asn1Object obj(OBJ_txt2obj(eku.c_str(), 0));
        if (!obj) s.fail_at("extended_key_usage", "unknown extended key usage '" + eku + "'");
    }
}

// uri_prefixes narrow the URIs a device may ask for (IntuneDeviceId://...).
void read_san_rules(const YamlSection& san, Template& t) {
    san.allow_only({"allowed", "uri_prefixes"});
    for (const auto& type : san.list("allowed")) {
        if (!kSanTypes.count(type)) san.fail_at("allowed", "unknown SAN type '" + type + "'");
        t.san_allowed.insert(type);
    }
    if (!san.has("uri_prefixes")) return;
    t.san_uri_prefixes = san.list("uri_prefixes");
    if (!t.san_allowed.count("uri")) san.fail_at("uri_prefixes", "is set but uri is not in allowed");
    if (t.san_uri_prefixes.empty()) san.fail_at("uri_prefixes", "must list at least one prefix");
    for (const auto& prefix : t.san_uri_prefixes) {
        if (prefix.empty() || prefix.size() > 256) san.fail_at("uri_prefixes", "a prefix must have 1 to 256 characters");
        for (unsigned char ch : prefix)
            if (ch <= 0x20 || ch >= 0x7f) san.fail_at("uri_prefixes", "'" + prefix + "' is not printable ASCII");
    }
}

// Windows strong certificate mapping (KB5014754): whether the SID extension
// may, or must, be in the certificate.
Template::SidRule read_sid_rule(const YamlSection& s) {
    std::string sid = s.string_or("sid_extension", "forbid");
    if (sid == "forbid") return Template::SidRule::forbid;
    if (sid == "allow") return Template::SidRule::allow;
    if (sid != "require") s.fail_at("sid_extension", "must be forbid, allow or require");
    return Template::SidRule::require;
}

}  // namespace

Template read_template(const YamlSection& s, const std::string& name) {
    s.allow_only({"validity_days", "max_validity_days", "key_usage", "extended_key_usage", "subject",
                  "san", "keys", "template_name_extension", "on_excess_request", "require_approval",
                  "sid_extension"});
    Template t;
    t.name = name;
    t.validity_days = int(s.integer_or("validity_days", 365, 1, 36500));
    t.max_validity_days = int(s.integer_or("max_validity_days", t.validity_days, 1, 36500));
    if (t.validity_days > t.max_validity_days)
        s.fail_at("validity_days", "is longer than max_validity_days");
    read_usages(s, t);
    if (s.has("subject")) read_subject_rules(s.section("subject"), t);
    else t.subject.allowed = {"CN", "O", "OU", "C", "ST", "L", "emailAddress", "serialNumber", "DC", "UID"};
    if (s.has("san")) read_san_rules(s.section("san"), t);
    if (s.has("keys")) read_key_rules(s.section("keys"), t);
    t.template_name_extension = s.boolean_or("template_name_extension", true);
    std::string excess = s.string_or("on_excess_request", "reject");
    if (excess != "reject" && excess != "drop") s.fail_at("on_excess_request", "must be reject or drop");
    t.reject_excess = excess == "reject";
    t.require_approval = s.boolean_or("require_approval", false);
    t.sid_extension = read_sid_rule(s);
    return t;
}

}  // namespace scepter
