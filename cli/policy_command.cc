// scepter policy test: runs a Lua policy's verify_request against a CSR,
// offline, and prints the decision, so a policy can be tried before a
// profile uses it.
#include "admin_common.h"
#include "cli.h"
#include "scepter/text.h"

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

std::vector<unsigned char> read_binary(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream out;
    out << in.rdbuf();
    std::string data = out.str();
    return std::vector<unsigned char>(data.begin(), data.end());
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

// The trial from the options and, with --config, the profile.
PolicyTrial gather_trial(const ParsedArgs& a) {
    std::string profile = a.has("--profile") ? a.options.at("--profile") : "default";
    PolicyTrial trial;
    trial.profile = profile;
    if (a.has("--config")) trial = open_admin(a.options.at("--config"))->policy_trial(profile);
    if (a.has("--policy")) trial.policy_path = a.options.at("--policy");
    if (trial.policy_path.empty())
        throw UsageError(a.has("--config") ? "profile '" + profile + "' has no policy; give --policy FILE"
                                           : "give --policy FILE or --config FILE --profile NAME",
                         "policy");
    if (a.has("--templates")) trial.templates = parse_templates(a.options.at("--templates"));
    if (a.has("--claims")) trial.claims = parse_claims(a.options.at("--claims"));
    return trial;
}

void print_verdict(const PolicyTrial& trial, const PolicyVerdict& v) {
    std::cout << "{\n  \"policy\": " << json_quote(trial.policy_path) << ",\n"
              << "  \"verdict\": " << json_quote(v.verdict) << ",\n"
              << "  \"template\": " << json_quote(v.template_name);
    if (!v.reason.empty()) std::cout << ",\n  \"reason\": " << json_quote(v.reason);
    if (v.sans) {
        std::cout << ",\n  \"sans\": [";
        for (std::size_t i = 0; i < v.sans->size(); ++i) std::cout << (i ? ", " : "") << json_quote((*v.sans)[i]);
        std::cout << "]";
    }
    std::cout << "\n}\n";
}

int test_policy(const ParsedArgs& a) {
    if (!a.has("--csr")) throw UsageError("policy test needs --csr CSR", "policy");
    PolicyTrial trial = gather_trial(a);
    trial.csr = read_binary(a.options.at("--csr"));
    print_verdict(trial, scepter::test_policy(trial));
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
