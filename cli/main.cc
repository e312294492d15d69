// `scepter`: the administration tool. Dispatches to one command group per
// file and is the only place that turns exceptions into exit codes.
#include "cli.h"
#include "scepter/capi.h"

#include <cstdio>
#include <exception>
#include <iostream>

namespace {

constexpr const char* kUsage =
    "Usage: scepter COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  init DIR [--force] [--cn NAME] [...]  write a demo CA, RA certificates and scepter.yaml;\n"
    "                                        or take an existing CA (--import-ca, --subordinate)\n"
    "  ra renew --config FILE                new RA pairs from the CA (keeps the old as .prev)\n"
    "  certs list --config FILE [--limit N]  list issued certificates, newest first\n"
    "  certs show --config FILE KEY          show one certificate (serial or SHA-1/SHA-256\n"
    "                                        thumbprint) with its PEM\n"
    "  certs revoke --config FILE KEY [--reason R]\n"
    "                                        revoke a certificate and publish a new CRL\n"
    "  requests list --config FILE [--status S] [--limit N]\n"
    "                                        list requests waiting for approval (or S)\n"
    "  requests show --config FILE ID        show one request with its CSR\n"
    "  requests approve|deny --config FILE ID [--reason TEXT]\n"
    "                                        decide a pending request\n"
    "  challenge --config FILE --user U --profile P [...]\n"
    "                                        issue a one-time challenge password (printed\n"
    "                                        alone on stdout)\n"
    "  challenge purge --config FILE [--unused [--requester R]]\n"
    "                                        delete expired challenges (or withdraw unused ones)\n"
    "  store migrate --from CONFIG_A --to CONFIG_B\n"
    "                                        copy one store (SQLite) into an empty one (PostgreSQL)\n"
    "  config check FILE                     load FILE as the web server would (nginx -t)\n"
    "  policy test --policy FILE --csr CSR [--templates SIG,ENC,GP] [--claims K=V,...]\n"
    "  policy test --config FILE --profile P --csr CSR\n"
    "                                        run a Lua policy's verify_request on a CSR\n"
    "  trace TXID | --subject CN | --serial S | --client IP | --failed [--since 1h]\n"
    "                                        one enrollment's timeline from the audit trail, or\n"
    "                                        failures grouped by step and reason\n"
    "  status list|show|retry --dir DIR ...  enrollment status records (processing,\n"
    "                                        succeeded, failed) and failed notifications\n"
    "  intune check --config F --profile P   a profile's Intune conversation, stage by stage\n"
    "\n"
    "Options:\n"
    "  -h, --help      show help (also after a command: scepter certs --help)\n"
    "  --version       show the version\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

int dispatch(const std::string& command, const std::vector<std::string>& rest) {
    using namespace scepter::cli;
    if (command == "init") return run_init(rest);
    if (command == "certs") return run_certs(rest);
    if (command == "requests") return run_requests(rest);
    if (command == "config") return run_config(rest);
    if (command == "policy") return run_policy(rest);
    if (command == "status") return run_status(rest);
    if (command == "challenge") return run_challenge(rest);
    if (command == "trace") return run_trace(rest);
    if (command == "ra") return run_ra(rest);
    if (command == "intune") return run_intune(rest);
    if (command == "store") return run_store(rest);
    throw UsageError("unknown command '" + command + "'", "");
}

int run(int argc, char** argv) {
    using namespace scepter::cli;
    std::vector<std::string> words(argv + (argc > 0 ? 1 : 0), argv + argc);
    if (words.empty()) throw UsageError("no command given", "");
    const std::string& command = words[0];
    if (command == "-h" || command == "--help" || command == "help") {
        std::cout << kUsage;
        return kExitOk;
    }
    if (command == "--version") {
        std::cout << "scepter " << scepter_version() << "\n";
        return kExitOk;
    }
    return dispatch(command, std::vector<std::string>(words.begin() + 1, words.end()));
}

}  // namespace

int main(int argc, char** argv) {
    using namespace scepter::cli;
    try {
        return run(argc, argv);
    } catch (const UsageError& e) {
        std::string help = e.command().empty() ? "scepter --help" : "scepter " + e.command() + " --help";
        std::cerr << "scepter: " << e.what() << "\nTry '" << help << "'.\n";
        return kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "scepter: error: " << e.what() << "\n";
        return kExitFailure;
    } catch (...) {
        std::cerr << "scepter: error: unexpected failure\n";
        return kExitFailure;
    }
}
