// scepter intune check: a profile's Intune conversation without a device.
#include "admin_common.h"
#include "cli.h"

#include <iostream>

namespace scepter::cli {
namespace {

constexpr const char* kIntuneHelp =
    "Usage: scepter intune check --config FILE --profile NAME\n"
    "\n"
    "Runs the profile's intune block stage by stage and prints each:\n"
    "  token            Entra ID tokens for Graph and for Intune\n"
    "  discovery        Graph's endpoint for ScepRequestValidationFEService, and\n"
    "                   for PkiConnectorFEService when the revocation sync is on\n"
    "  validateRequest  a throw-away CSR (no challenge) sent to Intune; any\n"
    "                   answer of Intune's own (it refuses the CSR) passes\n"
    "No token or secret is printed.\n"
    "\n"
    "Exit status: 0 every stage passed, 1 a stage failed (named on stderr),\n"
    "2 usage error.\n";

}  // namespace

int run_intune(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--config", "--profile"}, {}, "intune");
    if (parsed.help) {
        std::cout << kIntuneHelp;
        return kExitOk;
    }
    if (parsed.positionals.size() != 1 || parsed.positionals[0] != "check")
        throw UsageError("intune needs the subcommand check", "intune");
    if (!parsed.has("--config") || !parsed.has("--profile"))
        throw UsageError("intune check needs --config FILE and --profile NAME", "intune");
    auto stages = open_admin(parsed.options.at("--config"))
                      ->check_intune(parsed.options.at("--profile"), [](const Admin::IntuneStage& s) {
                          std::cout << s.name << ": " << (s.ok ? "ok" : "FAILED") << ": " << s.detail << std::endl;
                      });
    if (!stages.empty() && !stages.back().ok) {
        std::cerr << "scepter: intune check failed at stage '" << stages.back().name << "'\n";
        return kExitFailure;
    }
    return kExitOk;
}

}  // namespace scepter::cli
