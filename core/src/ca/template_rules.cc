// Template choice and the filtering of what a CSR asks for.
#include "ca/template_rules.h"

#include "ca/csr_checks.h"
#include "scepter/ossl.h"

#include <openssl/x509v3.h>

namespace scepter {

const Template& choose_template(const Config& cfg, const Profile& profile, const CsrInfo& csr) {
    if (!profile.by_key_usage) return cfg.templates.at(profile.template_name);
    const auto& by = *profile.by_key_usage;
    uint32_t ku = csr.key_usage.value_or(0);
    bool sign = ku & KU_DIGITAL_SIGNATURE;
    bool encrypt = ku & KU_KEY_ENCIPHERMENT;
    if (sign && !encrypt) return cfg.templates.at(by.signature);
    if (encrypt && !sign) return cfg.templates.at(by.encryption);
    return cfg.templates.at(by.general_purpose);
}

bool valid_sid_text(const std::string& sid) {
    if (sid.size() < 7 || sid.size() > 184 || sid.compare(0, 4, "S-1-") != 0) return false;
    std::size_t pos = 4;
    int field = 0;
    while (pos <= sid.size()) {
        std::size_t end = sid.find('-', pos);
        if (end == std::string::npos) end = sid.size();
        std::size_t len = end - pos;
        if (len == 0 || (len > 1 && sid[pos] == '0')) return false;
        if (len > (field == 0 ? 13u : 10u)) return false;
        unsigned long long v = 0;
        for (std::size_t i = pos; i < end; ++i) {
            if (sid[i] < '0' || sid[i] > '9') return false;
            v = v * 10 + unsigned(sid[i] - '0');
        }
        if (field == 0 ? v > 0xFFFFFFFFFFFFull : v > 0xFFFFFFFFull) return false;
        ++field;
        pos = end + 1;
    }
    return field >= 2 && field <= 16;
}

bool uri_prefix_allowed(const Template& t, const std::string& uri) {
    if (t.san_uri_prefixes.empty()) return true;
    for (const auto& prefix : t.san_uri_prefixes)
        if (uri.compare(0, prefix.size(), prefix) == 0) return true;
    return false;
}

namespace {

bool is_sid_tag(const SanEntry& san) {
    return san.type == "uri" && san.value.rfind(kSidTagPrefix, 0) == 0;
}

// Intune's SID SAN: the SID goes into the SID extension when the template
// allows one; the URI itself only into the SAN when the template allows it.
void take_sid_tag(const Template& t, const SanEntry& san, GrantedNames& out) {
    if (t.sid_extension == Template::SidRule::forbid) {
        if (t.reject_excess)
            throw ScepFailure(FailInfo::bad_request, "template '" + t.name +
                                                         "' does not allow the SID extension (sid_extension: forbid); "
                                                         "the CSR carries the SAN URI " + san.value);
        return;  // drop: neither the extension nor the URI
    }
    std::string sid = san.value.substr(std::string(kSidTagPrefix).size());
    if (!valid_sid_text(sid))
        throw ScepFailure(FailInfo::bad_request, "the CSR's SID SAN URI does not carry a valid SID (S-1-<digits>-...): '" +
                                                     sid.substr(0, 200) + "'");
    if (out.sid && *out.sid != sid)
        throw ScepFailure(FailInfo::bad_request, "the CSR carries two different SIDs (" + *out.sid + ", " + sid + ")");
    out.sid = sid;
    if (t.san_allowed.count("uri") && uri_prefix_allowed(t, san.value)) out.sans.push_back(san);
}

// The SID a policy returned: it replaces the CSR's, under the template's
// sid_extension like it.
void take_policy_sid(const Template& t, const std::string& sid, GrantedNames& names) {
    if (!valid_sid_text(sid))
        throw ScepFailure(FailInfo::bad_request, "the policy's SID '" + sid.substr(0, 200) +
                                                     "' does not carry a valid SID (S-1-<digits>-...)");
    if (t.sid_extension == Template::SidRule::forbid) {
        if (t.reject_excess)
            throw ScepFailure(FailInfo::bad_request, "template '" + t.name +
                                                         "' does not allow the SID extension (sid_extension: forbid); "
                                                         "the policy returns the SID " + sid);
        return;
    }
    names.sid = sid;
}

}  // namespace

GrantedNames grant_names(const Template& t, const CsrInfo& csr, const std::optional<std::string>& policy_sid) {
    GrantedNames out;
    for (const auto& a : csr.subject) {
        if (t.subject.allowed.count(a.short_name)) out.subject.push_back(a);
        else if (t.reject_excess)
            throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' does not allow the subject attribute " + a.short_name);
    }
    for (const auto& r : t.subject.required) {
        bool found = false;
        for (const auto& a : out.subject) found = found || (a.short_name == r && !a.value.empty());
        if (!found) throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' requires the subject attribute " + r);
    }
    for (const auto& san : csr.sans) {
        if (is_sid_tag(san)) take_sid_tag(t, san, out);
        else if (!t.san_allowed.count(san.type)) {
            if (t.reject_excess)
                throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' does not allow a SAN of type " + san.type);
        } else if (san.type == "uri" && !uri_prefix_allowed(t, san.value)) {
            if (t.reject_excess)
                throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' does not allow the URI SAN '" +
                                                             san.value.substr(0, 200) + "' (not under san.uri_prefixes)");
        } else {
            out.sans.push_back(san);
        }
    }
    if (csr.requested_validity_seconds) {
        long long most = (long long)t.max_validity_days * 86400;
        if (*csr.requested_validity_seconds <= most) out.validity_seconds = csr.requested_validity_seconds;
        else if (t.reject_excess)
            throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' issues for at most " +
                                                         std::to_string(t.max_validity_days) + " days (max_validity_days); "
                                                         "the CSR asks for " + csr.requested_validity_text);
        else out.validity_seconds = most;
    }
    if (policy_sid) take_policy_sid(t, *policy_sid, out);
    if (t.sid_extension == Template::SidRule::require && !out.sid)
        throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' requires a SID (sid_extension: require); the CSR "
                                                     "carries no SAN URI " + std::string(kSidTagPrefix) + "<SID>");
    if (csr.requests_ca && t.reject_excess)
        throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' issues leaf certificates only; the CSR asks for CA:TRUE");
    if (!csr.ca_powers.empty() && t.reject_excess)
        throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' issues leaf certificates only; the CSR asks for " +
                                                     csr.ca_powers.front());
    return out;
}

namespace {

// What issuance will encode must encode: an address for ip, ASCII for the
// IA5String types. A value the policy took from the CSR is the client's, so
// it is refused as a request error, not left to fail inside OpenSSL.
void check_policy_san(const std::string& type, const std::string& value) {
    check_name_text("the policy's " + type + " SAN", value, InputLimits{}.max_name_bytes);
    if (type == "ip") {
        ossl::Asn1OctetString address(a2i_IPADDRESS(value.c_str()));
        if (!address)
            throw ScepFailure(FailInfo::bad_request, "the policy's ip SAN '" + value + "' is not an IP address");
    } else if (type == "dns" || type == "email" || type == "uri") {
        for (unsigned char ch : value) {
            if (ch >= 0x80)
                throw ScepFailure(FailInfo::bad_request, "the policy's " + type + " SAN '" + value +
                                                             "' is not ASCII (an IA5String)");
        }
    }
}

}  // namespace

std::vector<SanEntry> rewritten_sans(const Template& t, const std::vector<std::pair<std::string, std::string>>& sans) {
    std::vector<SanEntry> out;
    for (const auto& [type, value] : sans) {
        check_policy_san(type, value);
        if (!t.san_allowed.count(type)) {
            if (t.reject_excess)
                throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' does not allow a SAN of type " + type +
                                                             " (written by the policy)");
        } else if (type == "uri" && !uri_prefix_allowed(t, value)) {
            if (t.reject_excess)
                throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' does not allow the URI SAN '" +
                                                             value.substr(0, 200) + "' (not under san.uri_prefixes; written by the policy)");
        } else {
            out.push_back({type, value, -1});
        }
    }
    return out;
}

void check_key(const Template& t, const CsrInfo& csr) {
    if (!t.key_types.count(csr.key_type))
        throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' does not allow " + csr.key_type + " keys");
    if (csr.key_type == "rsa" && csr.key_bits < t.min_rsa_bits)
        throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' needs RSA keys of at least " +
                                                     std::to_string(t.min_rsa_bits) + " bits; the CSR has " +
                                                     std::to_string(csr.key_bits));
}

}  // namespace scepter
