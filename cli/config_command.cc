// scepter config check FILE: the same full load the web servers do at
// configuration time (nginx -t, apachectl configtest), keys and all.
#include "cli.h"
#include "scepter/capi.h"
#include "scepter/log_ids.h"

#include <pwd.h>

#include <iostream>
#include <memory>

namespace scepter::cli {
namespace {

constexpr const char* kConfigHelp =
    "Usage: scepter config check [--worker-user USER] FILE\n"
    "\n"
    "Loads FILE exactly as the nginx and Apache modules do at configuration\n"
    "time: parses the YAML, reads the CA and RA certificates and keys, checks\n"
    "the templates and profiles, and that the current user can use the store\n"
    "and status_dir; a CA key in a PKCS#11 token is loaded (the module, the\n"
    "PIN file, the login, the object) and matched to the CA certificate.\n"
    "Prints `FILE: ok` and exits 0, or prints the error\n"
    "(FILE:LINE: key 'x': why) to stderr and exits 1.\n"
    "\n"
    "  --worker-user USER  also check that USER, whom the web server's workers\n"
    "                      run as (www-data on Debian), can write the store and\n"
    "                      status_dir, as nginx -t and apachectl configtest do\n";

struct ServiceFree {
    void operator()(scepter_service* svc) const noexcept { scepter_service_free(svc); }
};

int refused(const char* err) {
    std::cerr << (err[0] != '\0' ? err : "configuration rejected without a message") << "\n";
    return kExitFailure;
}

int check_config(const std::string& file, const std::string& worker_user) {
    char err[1024] = {0};
    std::unique_ptr<scepter_service, ServiceFree> svc(
        scepter_service_load(file.c_str(), err, sizeof err));
    if (!svc) return refused(err);
    // This process exits afterwards: a CA key in a token is opened and checked.
    if (!scepter_service_check_ca_key(svc.get(), err, sizeof err)) return refused(err);
    if (!worker_user.empty()) {
        const passwd* pw = getpwnam(worker_user.c_str());
        if (!pw) throw UsageError("no such user '" + worker_user + "'", "config");
        if (!scepter_service_check_worker_user(svc.get(), worker_user.c_str(), pw->pw_uid, pw->pw_gid, err,
                                               sizeof err))
            return refused(err);
    }
    for (std::size_t i = 0; i < scepter_service_warning_count(svc.get()); ++i)
        std::cerr << "warning: " << SCEPTER_ID_CERT_EXPIRING << " " << scepter_service_warning(svc.get(), i) << "\n";
    std::cout << file << ": ok\n";
    return kExitOk;
}

}  // namespace

int run_config(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--worker-user"}, {}, "config");
    if (parsed.help) {
        std::cout << kConfigHelp;
        return kExitOk;
    }
    if (parsed.positionals.empty() || parsed.positionals[0] != "check") {
        throw UsageError("config needs the subcommand check", "config");
    }
    if (parsed.positionals.size() != 2) throw UsageError("config check takes exactly one FILE", "config");
    std::string worker_user = parsed.has("--worker-user") ? parsed.options.at("--worker-user") : "";
    return check_config(parsed.positionals[1], worker_user);
}

}  // namespace scepter::cli
