// scepter policy test: runs a Lua policy's verify_request against a CSR,
// offline, and prints the decision, so a policy can be tried before a
// profile uses it.
#include "ca/csr.h"
#include "cli.h"
#include "codec/der.h"
#include "policy/policy.h"
#include "policy/policy_request.h"
#include "scepter/config.h"
#include "scepter/ossl.h"
#include "scepter/text.h"

#include <openssl/pem.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

namespace scepter::cli {
namespace {

constexpr const char* kPolicyHelp =
    "Usage: scepter policy test --policy FILE --csr CSR [--templates SIG,ENC,GP]\n"
    "                           [--claims KEY=VALUE,...] [--profile NAME]\n"
    "       scepter policy test --config FILE --profile NAME --csr CSR\n"
    "                           [--policy FILE] [--templates ...] [--claims ...]\n"
    "\n"
    "Compiles the policy as the web servers do at configuration time, calls its\n"
    "verify_request with the CSR (PEM or DER) and prints the decision as JSON:\n"
    "verdict (allow, deny, pending), template, reason and, when the policy\n"
    "rewrites them, sans.\n"
    "\n"
    "--config   take the policy (profiles.NAME.policy) and the three NDES\n"
    "           templates (templates_by_key_usage) from the profile NAME.\n"
    "--policy   the policy file; overrides the profile's.\n"
    "--templates  the signature, encryption and general-purpose template\n"
    "           names (req.templates); one name sets all three.\n"
    "--claims   what a challenge would have bound (req.claims), e.g.\n"
    "           subject=CN=dev1,O=Example,sans=dns:dev1.example,dns:dev1,min_key_size=2048\n"
    "           A comma starts a new claim only before a lower_case_key=, so\n"
    "           values may contain commas and upper-case NAME= parts.\n"
    "\n"
    "Exit status: 0 the policy decided (whatever it decided), 1 the policy or\n"
    "an input failed (a syntax error prints FILE:LINE), 2 usage error.\n";

// The inputs a test run needs, from the options and the configuration.
struct Inputs {
    std::string policy;
    std::string profile;
    std::string profile_template;  // the profile's own choice, if it has one
    std::map<std::string, std::string> templates;
    std::map<std::string, std::string> claims;
};

std::string read_binary(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// A CSR file in PEM or DER, as DER.
Bytes csr_der(const std::string& path) {
    std::string data = read_binary(path);
    if (data.find("-----BEGIN") == std::string::npos) return Bytes(data.begin(), data.end());
    ossl::Bio bio(BIO_new_mem_buf(data.data(), int(data.size())));
    ossl::X509Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    if (!req) throw std::runtime_error(path + " holds no PEM certificate request");
    return to_der(req.get(), i2d_X509_REQ);
}

// "subject=CN=a,O=b,sans=dns:x,dns:y" → {subject: "CN=a,O=b", sans: "dns:x,dns:y"}.
std::map<std::string, std::string> parse_claims(const std::string& text) {
    static const std::regex starts_claim("^[a-z_][a-z0-9_]*=");
    std::map<std::string, std::string> claims;
    std::string* last = nullptr;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ',')) {
        if (std::regex_search(part, starts_claim)) {
            auto eq = part.find('=');
            last = &claims[part.substr(0, eq)];
            *last = part.substr(eq + 1);
        } else if (last != nullptr) {
            *last += "," + part;
        } else {
            throw UsageError("--claims must start with KEY=VALUE (lower-case key), not '" + part + "'", "policy");
        }
    }
    return claims;
}

std::map<std::string, std::string> parse_templates(const std::string& text) {
    std::vector<std::string> names;
    std::stringstream in(text);
    std::string name;
    while (std::getline(in, name, ',')) names.push_back(name);
    if (names.size() == 1) names = {names[0], names[0], names[0]};
    if (names.size() != 3) throw UsageError("--templates takes SIG,ENC,GP or one name", "policy");
    return {{"signature", names[0]}, {"encryption", names[1]}, {"general_purpose", names[2]}};
}

void take_profile(const std::string& config_path, const std::string& name, Inputs& in) {
    Config config = load_config(config_path);
    auto it = config.profiles.find(name);
    if (it == config.profiles.end()) throw std::runtime_error(config_path + ": no profile '" + name + "'");
    const Profile& p = it->second;
    in.policy = p.policy_path;
    in.profile_template = p.template_name;
    // As the enrollment fills req.templates: a single-template profile
    // names its template for all three cases.
    TemplateByKeyUsage by = p.by_key_usage.value_or(TemplateByKeyUsage{p.template_name, p.template_name, p.template_name});
    in.templates = {{"signature", by.signature}, {"encryption", by.encryption}, {"general_purpose", by.general_purpose}};
}

Inputs gather_inputs(const ParsedArgs& a) {
    Inputs in;
    in.profile = a.has("--profile") ? a.options.at("--profile") : "default";
    if (a.has("--config")) take_profile(a.options.at("--config"), in.profile, in);
    if (a.has("--policy")) in.policy = a.options.at("--policy");
    if (in.policy.empty())
        throw UsageError(a.has("--config") ? "profile '" + in.profile + "' has no policy; give --policy FILE"
                                           : "give --policy FILE or --config FILE --profile NAME",
                         "policy");
    if (a.has("--templates")) in.templates = parse_templates(a.options.at("--templates"));
    if (a.has("--claims")) in.claims = parse_claims(a.options.at("--claims"));
    return in;
}

const char* verdict_name(PolicyDecision::Verdict v) {
    switch (v) {
        case PolicyDecision::Verdict::allow: return "allow";
        case PolicyDecision::Verdict::deny: return "deny";
        case PolicyDecision::Verdict::pending: return "pending";
    }
    return "?";
}

void print_decision(const Inputs& in, const PolicyDecision& d) {
    std::cout << "{\n  \"policy\": " << json_quote(in.policy) << ",\n"
              << "  \"verdict\": " << json_quote(verdict_name(d.verdict)) << ",\n"
              << "  \"template\": " << json_quote(d.template_name.empty() ? in.profile_template : d.template_name);
    if (!d.reason.empty()) std::cout << ",\n  \"reason\": " << json_quote(d.reason);
    if (d.sans) {
        std::cout << ",\n  \"sans\": [";
        for (std::size_t i = 0; i < d.sans->size(); ++i)
            std::cout << (i ? ", " : "") << json_quote((*d.sans)[i].first + ":" + (*d.sans)[i].second);
        std::cout << "]";
    }
    std::cout << "\n}\n";
}

int test_policy(const ParsedArgs& a) {
    if (!a.has("--csr")) throw UsageError("policy test needs --csr CSR", "policy");
    Inputs in = gather_inputs(a);
    std::unique_ptr<PolicyEngine> engine = PolicyEngine::compile(in.policy, PolicyLimits{});
    PolicyRequest req = policy_request_from_csr(read_csr(csr_der(a.options.at("--csr"))));
    req.transaction_id = "policy-test";
    req.message_type = "PKCSReq";
    req.profile = in.profile;
    req.templates = in.templates;
    req.claims = in.claims;
    print_decision(in, engine->verify_request(req));
    return kExitOk;
}

}  // namespace

int run_policy(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--policy", "--config", "--profile", "--csr", "--templates", "--claims"},
                                   {}, "policy");
    if (parsed.help) {
        std::cout << kPolicyHelp;
        return kExitOk;
    }
    if (parsed.positionals.size() != 1 || parsed.positionals[0] != "test")
        throw UsageError("policy needs the subcommand test", "policy");
    return test_policy(parsed);
}

}  // namespace scepter::cli
