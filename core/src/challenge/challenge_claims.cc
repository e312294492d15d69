#include "challenge/challenge_claims.h"

#include "policy/policy_request.h"
#include "scepter/ossl.h"
#include "scepter/text.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

namespace scepter {
namespace {

std::set<std::string> split_list(const std::string& list) {
    std::set<std::string> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) out.insert(item);
    }
    return out;
}

// Names and dotted OIDs compare as OIDs ("clientAuth" == "1.3.6.1.5.5.7.3.2").
std::string oid_text(const std::string& name) {
    ossl::Asn1Object obj(OBJ_txt2obj(name.c_str(), 0));
    if (!obj) return name;
    char buf[80];
    OBJ_obj2txt(buf, sizeof buf, obj.get(), 1);
    return buf;
}

std::set<std::string> csr_key_usages(const CsrInfo& csr) {
    std::vector<std::string> names = key_usage_names(csr.key_usage.value_or(0));
    return std::set<std::string>(names.begin(), names.end());
}

std::optional<std::string> subject_mismatch(const Claims& c, const CsrInfo& csr) {
    auto exact = c.find("subject");
    if (exact != c.end() && exact->second != csr.subject_text)
        return "SubjectNameMismatch: the CSR's subject '" + csr.subject_text + "' is not '" + exact->second + "'";
    auto pattern = c.find("subject_pattern");
    if (pattern != c.end()) {
        try {
            if (!std::regex_match(csr.subject_text, std::regex(pattern->second)))
                return "SubjectNameMismatch: the CSR's subject '" + csr.subject_text + "' does not match the pattern";
        } catch (const std::regex_error&) {
            return "SubjectNameMismatch: the challenge's subject pattern is not a valid expression";
        }
    }
    return std::nullopt;
}

std::optional<std::string> san_mismatch(const Claims& c, const CsrInfo& csr) {
    auto sans = c.find("sans");
    if (sans == c.end()) return std::nullopt;
    std::set<std::string> got;
    for (const auto& s : csr.sans) got.insert(s.type + ":" + s.value);
    if (got != split_list(sans->second)) return "SubjectAltNameMismatch: the CSR's SANs are not the ones the challenge was issued for";
    return std::nullopt;
}

std::optional<std::string> usage_mismatch(const Claims& c, const CsrInfo& csr) {
    auto ku = c.find("key_usage");
    if (ku != c.end() && csr_key_usages(csr) != split_list(ku->second))
        return "KeyUsageMismatch: the CSR's key usage is not '" + ku->second + "'";
    auto eku = c.find("extended_key_usage");
    if (eku != c.end()) {
        std::set<std::string> got;
        for (const auto& o : csr.extended_key_usage) got.insert(oid_text(o));
        for (const auto& want : split_list(eku->second))
            if (!got.count(oid_text(want)))
                return "EnhancedKeyUsageMismatch: the CSR does not ask for extended key usage '" + want + "'";
    }
    return std::nullopt;
}

std::optional<std::string> key_mismatch(const Claims& c, const CsrInfo& csr) {
    auto min = c.find("min_key_size");
    if (min == c.end()) return std::nullopt;
    int bits = 0;
    try {
        bits = std::stoi(min->second);
    } catch (const std::exception&) {
        return "KeyLengthMismatch: the challenge's min_key_size is not a number";
    }
    if (csr.key_bits < bits)
        return "KeyLengthMismatch: the CSR's key has " + std::to_string(csr.key_bits) + " bits, at least " +
               std::to_string(bits) + " are required";
    return std::nullopt;
}

}  // namespace

const std::vector<std::string>& claim_keys() {
    static const std::vector<std::string> keys = {"subject",   "subject_pattern",    "sans",
                                                  "key_usage", "extended_key_usage", "min_key_size"};
    return keys;
}

std::optional<std::string> claims_mismatch(const Claims& claims, const CsrInfo& csr) {
    for (auto check : {subject_mismatch, san_mismatch, usage_mismatch, key_mismatch})
        if (auto why = check(claims, csr)) return why;
    return std::nullopt;
}

std::string claims_to_json(const Claims& claims) {
    std::string out = "{";
    for (const auto& [k, v] : claims) out += (out.size() > 1 ? "," : "") + (json_quote(k) + ":" + json_quote(v));
    return out + "}";
}

}  // namespace scepter
