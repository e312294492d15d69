// scepter config check FILE: the same full load the web servers do at
// configuration time (nginx -t, apachectl configtest), keys and all.
#include "cli.h"
#include "scepter/capi.h"

#include <iostream>
#include <memory>

namespace scepter::cli {
namespace {

constexpr const char* kConfigHelp =
    "Usage: scepter config check FILE\n"
    "\n"
    "Loads FILE exactly as the nginx and Apache modules do at configuration\n"
    "time: parses the YAML, reads the CA and RA certificates and keys, checks\n"
    "the templates and profiles. Prints `FILE: ok` and exits 0, or prints the\n"
    "error (FILE:LINE: key 'x': why) to stderr and exits 1.\n";

struct ServiceFree {
    void operator()(scepter_service* svc) const noexcept { scepter_service_free(svc); }
};

int check_config(const std::string& file) {
    char err[1024] = {0};
    std::unique_ptr<scepter_service, ServiceFree> svc(
        scepter_service_load(file.c_str(), err, sizeof err));
    if (!svc) {
        std::cerr << (err[0] != '\0' ? err : "configuration rejected without a message") << "\n";
        return kExitFailure;
    }
    std::cout << file << ": ok\n";
    return kExitOk;
}

}  // namespace

int run_config(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {}, {}, "config");
    if (parsed.help) {
        std::cout << kConfigHelp;
        return kExitOk;
    }
    if (parsed.positionals.empty() || parsed.positionals[0] != "check") {
        throw UsageError("config needs the subcommand check", "config");
    }
    if (parsed.positionals.size() != 2) throw UsageError("config check takes exactly one FILE", "config");
    return check_config(parsed.positionals[1]);
}

}  // namespace scepter::cli
