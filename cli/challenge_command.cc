// scepter challenge: issue a one-time challenge (NDES's mscep_admin password)
// for a user and profile, optionally bound to what the CSR must contain, and
// print it alone on stdout so that scripts can capture it:
//     CHALLENGE=$(scepter challenge --config scepter.yaml --user alice --profile default)
// scepter challenge purge: delete the expired ones.
#include "admin_common.h"
#include "cli.h"
#include "scepter/ossl.h"

#include <openssl/objects.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <pwd.h>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>

namespace scepter::cli {
namespace {

constexpr const char* kChallengeHelp =
    "Usage: scepter challenge --config FILE --user USER --profile PROFILE [--requester R]\n"
    "                         [--subject DN | --subject-pattern REGEX] [--san TYPE:VALUE ...]\n"
    "                         [--key-usage U,U] [--eku E,E] [--min-key-size BITS]\n"
    "                         [--validity-minutes N] [--count N]\n"
    "       scepter challenge purge --config FILE [--unused [--requester R]]\n"
    "\n"
    "Issues a one-time challenge password for USER's enrollment under PROFILE and\n"
    "prints only the challenge on stdout (CHALLENGE=$(scepter challenge ...)).\n"
    "It is 32 characters of [A-Za-z0-9], valid once, for the profile's\n"
    "challenge.one_time.validity_minutes (default 60) or --validity-minutes. The\n"
    "store keeps only its SHA-256. As at the admin locations, the profile must\n"
    "have challenge.one_time, its policy's generate_challenge may add claims or\n"
    "refuse (exit 1), and the challenge_issued line goes to the audit_log.\n"
    "--count N (1 to 100000) issues N such challenges, one per line (a batch of\n"
    "devices to provision; the quota counts each); a refusal stops the batch\n"
    "with exit 1 after the ones already printed.\n"
    "\n"
    "The enrollment's CSR must then match what is given here:\n"
    "  --subject DN             exactly this subject (RFC 2253, e.g. CN=alice,O=Example)\n"
    "  --subject-pattern REGEX  a subject matching this ECMAScript regex (whole subject)\n"
    "  --san TYPE:VALUE         exactly these subject alternative names; TYPE is dns,\n"
    "                           email, uri, ip or upn. Repeat it, or separate by commas.\n"
    "  --key-usage U,U          exactly these key usages (digitalSignature,\n"
    "                           keyEncipherment, ...)\n"
    "  --eku E,E                at least these extended key usages (clientAuth, or OIDs)\n"
    "  --min-key-size BITS      a key of at least BITS bits\n"
    "\n"
    "--requester names who asked (default: the user running this command). A\n"
    "requester holds at most challenge.one_time.max_per_requester unused, unexpired\n"
    "challenges (default 5, 0 = no limit); beyond that the command prints NDES's\n"
    "`The password cache is full.` and exits 1.\n"
    "\n"
    "purge deletes the challenges that have expired (used or not) and prints how\n"
    "many. With --unused it deletes instead the unused ones, expired or not, of\n"
    "requester R (default: everyone's): a full quota is free again at once, and\n"
    "challenges handed out by mistake stop working. It writes a\n"
    "challenges_withdrawn line to the audit_log.\n"
    "\n"
    "The store is the one `store.sqlite` in FILE names; its directory must exist.\n";

const std::set<std::string> kSanTypes = {"dns", "email", "uri", "ip", "upn"};
const std::set<std::string> kKeyUsages = {"digitalSignature", "nonRepudiation", "keyEncipherment",
                                          "dataEncipherment", "keyAgreement",   "keyCertSign",
                                          "cRLSign",          "encipherOnly",   "decipherOnly"};

std::string trim(const std::string& s) {
    auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string> split_commas(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        item = trim(item);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}

// --san may be repeated; parse_args keeps one value per option, so the SANs
// are taken out first (up to a "--", like parse_args).
std::vector<std::string> take_san_options(std::vector<std::string>& args) {
    std::vector<std::string> sans;
    std::vector<std::string> rest;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        if (!options_done && word == "--") options_done = true;
        if (!options_done && word == "--san") {
            if (i + 1 >= args.size()) throw UsageError("option --san needs a value", "challenge");
            sans.push_back(args[++i]);
        } else if (!options_done && word.rfind("--san=", 0) == 0) {
            sans.push_back(word.substr(6));
        } else {
            rest.push_back(word);
        }
    }
    args = std::move(rest);
    return sans;
}

std::string sans_claim(const std::vector<std::string>& options) {
    std::vector<std::string> sans;
    for (const auto& option : options) {
        for (const auto& san : split_commas(option)) {
            auto colon = san.find(':');
            std::string type = colon == std::string::npos ? "" : san.substr(0, colon);
            std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return char(std::tolower(c)); });
            std::string value = colon == std::string::npos ? "" : trim(san.substr(colon + 1));
            if (!kSanTypes.count(type) || value.empty()) {
                throw UsageError("--san needs TYPE:VALUE with TYPE dns, email, uri, ip or upn, not '" + san + "'",
                                 "challenge");
            }
            sans.push_back(type + ":" + value);
        }
    }
    if (sans.empty()) throw UsageError("--san needs TYPE:VALUE", "challenge");
    return join(sans);
}

std::string key_usage_claim(const std::string& option) {
    auto usages = split_commas(option);
    if (usages.empty()) throw UsageError("--key-usage needs at least one key usage", "challenge");
    for (const auto& u : usages) {
        if (!kKeyUsages.count(u)) throw UsageError("unknown key usage '" + u + "'", "challenge");
    }
    return join(usages);
}

std::string eku_claim(const std::string& option) {
    auto ekus = split_commas(option);
    if (ekus.empty()) throw UsageError("--eku needs at least one extended key usage", "challenge");
    for (const auto& e : ekus) {
        ossl::Asn1Object obj(OBJ_txt2obj(e.c_str(), 0));
        if (!obj) throw UsageError("unknown extended key usage '" + e + "'", "challenge");
    }
    return join(ekus);
}

int positive_number(const std::string& text, const std::string& option, int max) {
    std::size_t used = 0;
    long n = 0;
    try {
        n = std::stol(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || n <= 0 || n > max) {
        throw UsageError(option + " needs a number from 1 to " + std::to_string(max) + ", not '" + text + "'",
                         "challenge");
    }
    return int(n);
}

Claims claims_from(const ParsedArgs& parsed, const std::vector<std::string>& san_options) {
    Claims claims;
    if (parsed.has("--subject") && parsed.has("--subject-pattern")) {
        throw UsageError("give either --subject or --subject-pattern, not both", "challenge");
    }
    if (parsed.has("--subject")) {
        std::string subject = trim(parsed.options.at("--subject"));
        if (subject.empty()) throw UsageError("--subject needs a DN", "challenge");
        claims["subject"] = subject;
    }
    if (parsed.has("--subject-pattern")) {
        const std::string& pattern = parsed.options.at("--subject-pattern");
        try {
            std::regex check(pattern);
        } catch (const std::regex_error& e) {
            throw UsageError("--subject-pattern is not a valid regular expression: " + std::string(e.what()),
                             "challenge");
        }
        claims["subject_pattern"] = pattern;
    }
    if (!san_options.empty()) claims["sans"] = sans_claim(san_options);
    if (parsed.has("--key-usage")) claims["key_usage"] = key_usage_claim(parsed.options.at("--key-usage"));
    if (parsed.has("--eku")) claims["extended_key_usage"] = eku_claim(parsed.options.at("--eku"));
    if (parsed.has("--min-key-size")) {
        claims["min_key_size"] = std::to_string(positive_number(parsed.options.at("--min-key-size"), "--min-key-size", 65536));
    }
    return claims;
}

// Who runs this command: the quota's requester unless --requester says.
std::string invoking_user() {
    if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
    return "uid " + std::to_string(geteuid());
}

// validity_minutes: 0 = the profile's. Issued like the admin locations do:
// the profile must have challenge.one_time, its policy's generate_challenge
// may add claims or refuse, and the configuration's audit_log gets the
// challenge_issued line.
int issue_challenges(const std::string& config_file, const ParsedArgs& parsed, const Claims& claims,
                     int validity_minutes, int count) {
    ChallengeOrder order;
    order.profile = parsed.options.at("--profile");
    order.user = parsed.options.at("--user");
    order.requester = parsed.has("--requester") ? parsed.options.at("--requester") : invoking_user();
    order.claims = claims;
    order.validity_minutes = validity_minutes;
    auto admin = open_admin(config_file);
    for (int i = 0; i < count; ++i) {
        try {
            std::cout << admin->issue_challenge(order, "cli").challenge << "\n";
        } catch (const ChallengeQuotaFull& e) {
            std::cerr << "The password cache is full.\n" << "scepter: " << e.what() << "\n";
            return kExitFailure;
        } catch (const ChallengeRefused& e) {
            std::cerr << "scepter: no challenge issued: " << e.what() << "\n";
            return kExitFailure;
        }
    }
    return kExitOk;
}

int purge_challenges(const std::string& config_file) {
    std::size_t purged = open_admin(config_file)->purge_expired_challenges();
    std::cout << purged << " expired challenge" << (purged == 1 ? "" : "s") << " purged\n";
    return kExitOk;
}

int withdraw_unused_challenges(const std::string& config_file, const std::string& requester) {
    std::size_t withdrawn = open_admin(config_file)->withdraw_unused_challenges(requester);
    std::cout << withdrawn << " unused challenge" << (withdrawn == 1 ? "" : "s") << " withdrawn"
              << (requester.empty() ? "" : " from " + requester) << "\n";
    return kExitOk;
}

}  // namespace

int run_challenge(const std::vector<std::string>& args) {
    std::vector<std::string> rest = args;
    std::vector<std::string> san_options = take_san_options(rest);
    ParsedArgs parsed = parse_args(rest,
                                   {"--config", "--user", "--profile", "--requester", "--subject", "--subject-pattern",
                                    "--key-usage", "--eku", "--min-key-size", "--validity-minutes", "--count"},
                                   {"--unused"}, "challenge");
    if (parsed.help) {
        std::cout << kChallengeHelp;
        return kExitOk;
    }
    if (!parsed.has("--config")) throw UsageError("challenge needs --config FILE", "challenge");
    const std::string config_file = parsed.options.at("--config");
    if (!parsed.positionals.empty()) {
        if (parsed.positionals[0] != "purge") {
            throw UsageError("unknown challenge command '" + parsed.positionals[0] + "'", "challenge");
        }
        if (parsed.positionals.size() > 1) throw UsageError("challenge purge takes no arguments", "challenge");
        bool unused = parsed.has("--unused");
        std::set<std::string> allowed = {"--config"};
        if (unused) allowed.insert({"--unused", "--requester"});
        for (const auto& [name, value] : parsed.options) {
            if (!allowed.count(name) || !san_options.empty())
                throw UsageError("challenge purge takes only --config, or --unused [--requester R]", "challenge");
        }
        if (!unused) return purge_challenges(config_file);
        if (parsed.has("--requester") && parsed.options.at("--requester").empty()) {
            throw UsageError("--requester needs a name", "challenge");
        }
        return withdraw_unused_challenges(config_file, parsed.has("--requester") ? parsed.options.at("--requester") : "");
    }
    if (parsed.has("--unused")) throw UsageError("--unused goes with challenge purge", "challenge");
    if (!parsed.has("--user") || parsed.options.at("--user").empty()) {
        throw UsageError("challenge needs --user USER", "challenge");
    }
    if (!parsed.has("--profile") || parsed.options.at("--profile").empty()) {
        throw UsageError("challenge needs --profile PROFILE", "challenge");
    }
    if (parsed.has("--requester") && parsed.options.at("--requester").empty()) {
        throw UsageError("--requester needs a name", "challenge");
    }
    // Usage errors before touching any file.
    Claims claims = claims_from(parsed, san_options);
    int validity = parsed.has("--validity-minutes")
                       ? positive_number(parsed.options.at("--validity-minutes"), "--validity-minutes", 60 * 24 * 30)
                       : 0;
    int count = parsed.has("--count") ? positive_number(parsed.options.at("--count"), "--count", 100000) : 1;
    return issue_challenges(config_file, parsed, claims, validity, count);
}

}  // namespace scepter::cli
