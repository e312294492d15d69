// test_policy: a Lua policy's verify_request run offline against a CSR, so
// that a policy can be tried before a profile uses it.
#include "scepter/admin.h"

#include "ca/csr.h"
#include "policy/policy.h"
#include "policy/policy_request.h"
#include "scepter/der.h"
#include "scepter/ossl.h"

#include <openssl/pem.h>

#include <algorithm>

namespace scepter {
namespace {

// A CSR in PEM or DER, as DER.
Bytes csr_der(const std::vector<unsigned char>& data) {
    static const std::string kBegin = "-----BEGIN";
    if (std::search(data.begin(), data.end(), kBegin.begin(), kBegin.end()) == data.end()) return data;
    ossl::Bio bio(BIO_new_mem_buf(data.data(), int(data.size())));
    ossl::X509Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    if (!req) throw std::runtime_error("the CSR holds no PEM certificate request");
    return to_der(req.get(), i2d_X509_REQ);
}

const char* verdict_name(PolicyDecision::Verdict v) {
    switch (v) {
        case PolicyDecision::Verdict::allow: return "allow";
        case PolicyDecision::Verdict::deny: return "deny";
        case PolicyDecision::Verdict::pending: return "pending";
    }
    return "?";
}

}  // namespace

PolicyVerdict test_policy(const PolicyTrial& trial) {
    std::unique_ptr<PolicyEngine> engine = PolicyEngine::compile(trial.policy_path, trial.limits);
    PolicyRequest req = policy_request_from_csr(read_csr(csr_der(trial.csr)));
    req.transaction_id = "policy-test";
    req.message_type = "PKCSReq";
    req.profile = trial.profile;
    req.templates = trial.templates;
    req.claims = trial.claims;
    PolicyDecision d = engine->verify_request(req);
    PolicyVerdict out;
    out.verdict = verdict_name(d.verdict);
    out.template_name = d.template_name.empty() ? trial.profile_template : d.template_name;
    out.reason = d.reason;
    if (d.sans) {
        out.sans.emplace();
        for (const auto& [type, value] : *d.sans) out.sans->push_back(type + ":" + value);
    }
    return out;
}

}  // namespace scepter
