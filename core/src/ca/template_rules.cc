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

GrantedNames grant_names(const Template& t, const CsrInfo& csr) {
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
        if (t.san_allowed.count(san.type)) out.sans.push_back(san);
        else if (t.reject_excess)
            throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' does not allow a SAN of type " + san.type);
    }
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
        if (t.san_allowed.count(type)) out.push_back({type, value, -1});
        else if (t.reject_excess)
            throw ScepFailure(FailInfo::bad_request, "template '" + t.name + "' does not allow a SAN of type " + type +
                                                         " (written by the policy)");
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
