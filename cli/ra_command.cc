// scepter ra renew --config FILE: new RA pairs from the CA before the old ones
// end (NDES's RA certificates need the same care); the web server then
// reloads, and devices fetch the new ones with GetCACert.
#include "cli.h"
#include "demo_pki.h"
#include "scepter/config.h"

#include <iostream>

namespace scepter::cli {
namespace {

constexpr const char* kRaHelp =
    "Usage: scepter ra renew --config FILE\n"
    "\n"
    "Issues new RA pairs from the CA that FILE names: a new RSA-2048 key and\n"
    "certificate for ra.signing (digitalSignature) and ra.encryption\n"
    "(digitalSignature, keyEncipherment), with the same common names, valid 730\n"
    "days or until the CA ends. The previous files are kept as FILE.prev. Reload\n"
    "the web server afterwards; devices pick the new RA up with GetCACert.\n"
    "The configuration warns (SCP1005) 30 days before an RA certificate ends.\n";

}  // namespace

int run_ra(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--config"}, {}, "ra");
    if (parsed.help) {
        std::cout << kRaHelp;
        return kExitOk;
    }
    if (parsed.positionals.size() != 1 || parsed.positionals[0] != "renew")
        throw UsageError("ra takes the command renew", "ra");
    if (!parsed.has("--config")) throw UsageError("ra renew needs --config FILE", "ra");
    Config cfg = load_config(parsed.options["--config"]);
    if (!cfg.ra_signing) throw std::runtime_error(cfg.path + ": the CA acts as RA here; there is no RA pair to renew");
    // It writes new key files: a key in a token is made there (pkcs11-tool --keypairgen) by its keeper.
    if (cfg.ra_signing_token || cfg.ra_encryption_token)
        throw std::runtime_error(cfg.path + ": " + (cfg.ra_signing_token ? cfg.ra_signing_token : cfg.ra_encryption_token)->config_key +
                                 " is in a token; ra renew makes key files: make the new key in the token and have the CA "
                                 "issue its certificate");
    bool one_pair = !cfg.ra_encryption || cfg.ra_encryption->cert == cfg.ra_signing->cert;
    std::cout << renew_ra_pair(cfg, *cfg.ra_signing,
                               one_pair ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature")
              << "\n";
    if (!one_pair) std::cout << renew_ra_pair(cfg, *cfg.ra_encryption, "critical,digitalSignature,keyEncipherment") << "\n";
    std::cout << "reload the web server to serve them\n";
    return kExitOk;
}

}  // namespace scepter::cli
