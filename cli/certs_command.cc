// scepter certs list|show|revoke: the issued certificates in the store the
// configuration names. revoke lives in revoke_command.cc.
#include "admin_common.h"
#include "scepter/text.h"
#include "cli.h"
#include "lifecycle.h"

#include <iostream>
#include <optional>

namespace scepter::cli {
namespace {

constexpr std::size_t kDefaultLimit = 100;

constexpr const char* kCertsHelp =
    "Usage: scepter certs list --config FILE [--limit N]\n"
    "       scepter certs show --config FILE SERIAL|THUMBPRINT\n"
    "       scepter certs revoke --config FILE SERIAL|THUMBPRINT [--reason REASON]\n"
    "       scepter certs revoke --config FILE --subject CN|--san VALUE|--requester WHO\n"
    "                            [--reason REASON]\n"
    "\n"
    "list    prints a table of the issued certificates, newest first (default\n"
    "        limit 100): SERIAL STATUS SUBJECT TEMPLATE NOT_AFTER SHA256.\n"
    "show    prints every stored field of one certificate as `name: value` lines,\n"
    "        then its PEM.\n"
    "revoke  marks the certificate revoked and publishes a new CRL signed by the\n"
    "        CA (the CA key must be readable). Prints `SERIAL: revoked (REASON);\n"
    "        CRL NUMBER published`. REASON is unspecified (the default),\n"
    "        keyCompromise, caCompromise, affiliationChanged, superseded,\n"
    "        cessationOfOperation or certificateHold.\n"
    "        With --subject (one CN of the subject, exactly), --san (one SAN\n"
    "        entry, exactly: `dns:host` or the value alone, such as a device ID)\n"
    "        or --requester (the client address, or the user or requester of the\n"
    "        one-time challenge used) it revokes every unrevoked, unexpired match,\n"
    "        prints `SERIAL: revoked (REASON) SUBJECT` for each and publishes one\n"
    "        CRL for all of them.\n"
    "\n"
    "The key is the serial or the SHA-1 or SHA-256 thumbprint, in hex, any case,\n"
    "colons allowed. The store is the one `store.sqlite` in FILE names; it is\n"
    "never created here.\n";

// "revoked (keyCompromise)" in the list; plain "issued" otherwise.
std::string status_text(const IssuedCert& c) {
    if (c.status != "revoked") return c.status;
    return c.status + " (" + revocation_reason_name(c.revocation_reason) + ")";
}

int list_certs(const std::string& config_file, std::size_t limit) {
    std::vector<std::vector<std::string>> rows{
        {"SERIAL", "STATUS", "SUBJECT", "TEMPLATE", "NOT_AFTER", "SHA256"}};
    for (const auto& c : open_admin(config_file)->list_certs(limit)) {
        rows.push_back({c.serial_hex, status_text(c), c.subject, c.template_name, iso8601_utc(c.not_after),
                        c.sha256_hex});
    }
    print_table(rows);
    return kExitOk;
}

void print_cert(const IssuedCert& c) {
    std::vector<std::vector<std::string>> rows{
        {"serial:", c.serial_hex},
        {"subject:", c.subject},
        {"sans:", c.sans},
        {"template:", c.template_name},
        {"profile:", c.profile},
        {"status:", c.status}};
    if (c.status == "revoked") {
        rows.push_back({"revoked_at:", iso8601_utc(c.revoked_at)});
        rows.push_back({"revocation_reason:", revocation_reason_name(c.revocation_reason)});
    }
    rows.insert(rows.end(), {{"not_before:", iso8601_utc(c.not_before)},
                             {"not_after:", iso8601_utc(c.not_after)},
                             {"issued_at:", iso8601_utc(c.issued_at)},
                             {"transaction_id:", c.transaction_id},
                             {"requester_ip:", c.requester_ip},
                             {"sha1:", c.sha1_hex},
                             {"sha256:", c.sha256_hex}});
    print_table(rows);
    std::cout << pem_encode(c.der, "CERTIFICATE");
}

int show_cert(const std::string& config_file, const std::string& key) {
    std::optional<IssuedCert> cert = open_admin(config_file)->find_cert(key);
    if (!cert) {
        std::cerr << "scepter: no certificate with serial or thumbprint '" << key << "'\n";
        return kExitFailure;
    }
    print_cert(*cert);
    return kExitOk;
}

}  // namespace

int run_certs(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--config", "--limit", "--reason", "--subject", "--san", "--requester"}, {}, "certs");
    if (parsed.help) {
        std::cout << kCertsHelp;
        return kExitOk;
    }
    if (parsed.positionals.empty()) throw UsageError("certs needs list, show or revoke", "certs");
    const std::string sub = parsed.positionals[0];
    if (sub != "list" && sub != "show" && sub != "revoke") {
        throw UsageError("unknown certs command '" + sub + "'", "certs");
    }
    if (!parsed.has("--config")) throw UsageError("certs " + sub + " needs --config FILE", "certs");
    if (sub == "revoke") return run_certs_revoke(parsed);
    for (const char* option : {"--reason", "--subject", "--san", "--requester"})
        if (parsed.has(option)) throw UsageError(std::string(option) + " belongs to certs revoke", "certs");
    const std::string& config_file = parsed.options["--config"];
    if (sub == "list") {
        if (parsed.positionals.size() != 1) throw UsageError("certs list takes no arguments", "certs");
        std::size_t limit = parsed.has("--limit") ? parse_limit(parsed.options["--limit"], "certs") : kDefaultLimit;
        return list_certs(config_file, limit);
    }
    if (parsed.has("--limit")) throw UsageError("--limit belongs to certs list", "certs");
    if (parsed.positionals.size() != 2) throw UsageError("certs show takes one SERIAL|THUMBPRINT", "certs");
    return show_cert(config_file, parsed.positionals[1]);
}

}  // namespace scepter::cli
