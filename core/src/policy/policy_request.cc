#include "policy/policy_request.h"

#include <openssl/x509v3.h>

namespace scepter {

std::vector<std::string> key_usage_names(uint32_t bits) {
    static const std::pair<uint32_t, const char*> names[] = {
        {KU_DIGITAL_SIGNATURE, "digitalSignature"}, {KU_NON_REPUDIATION, "nonRepudiation"},
        {KU_KEY_ENCIPHERMENT, "keyEncipherment"},   {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
        {KU_KEY_AGREEMENT, "keyAgreement"},         {KU_KEY_CERT_SIGN, "keyCertSign"},
        {KU_CRL_SIGN, "cRLSign"},                   {KU_ENCIPHER_ONLY, "encipherOnly"},
        {KU_DECIPHER_ONLY, "decipherOnly"}};
    std::vector<std::string> out;
    for (const auto& [bit, name] : names)
        if (bits & bit) out.push_back(name);
    return out;
}

PolicyRequest policy_request_from_csr(const CsrInfo& csr) {
    PolicyRequest req;
    req.subject = csr.subject_text;
    for (const auto& attr : csr.subject) req.subject_fields.emplace(attr.short_name, attr.value);  // keeps the first
    for (const auto& san : csr.sans) req.sans.emplace_back(san.type, san.value);
    req.key_usage = key_usage_names(csr.key_usage.value_or(0));
    req.extended_key_usage = csr.extended_key_usage;
    req.key_type = csr.key_type;
    req.key_bits = csr.key_bits;
    return req;
}

}  // namespace scepter
