// `scepter store migrate --from CONFIG_A --to CONFIG_B`: copies the store
// CONFIG_A names (typically SQLite) into the empty one CONFIG_B names
// (typically PostgreSQL), so a site that started on one machine grows to
// several nodes without re-issuing anything.
#include "cli.h"
#include "scepter/config.h"
#include "scepter/store.h"

#include <ctime>
#include <filesystem>
#include <iostream>

namespace scepter::cli {
namespace {

constexpr const char* kUsage =
    "Usage: scepter store migrate --from CONFIG_A --to CONFIG_B\n"
    "Copies the store of CONFIG_A (certificates, revocations, the CRL number, pending requests,\n"
    "unused challenges) into the empty store of CONFIG_B.\n";

std::unique_ptr<Store> source_store(const Config& cfg) {
    if (!cfg.uses_postgresql()) {
        check_store_not_lost(cfg.sqlite_path);
        if (!std::filesystem::exists(cfg.sqlite_path))
            throw std::runtime_error(cfg.path + ": store " + cfg.sqlite_path + " does not exist; nothing to migrate");
    }
    return open_configured_store(cfg, StoreUser::command);
}

}  // namespace

int run_store(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--from", "--to"}, {}, "store");
    if (parsed.help) {
        std::cout << kUsage;
        return kExitOk;
    }
    if (parsed.positionals.size() != 1 || parsed.positionals[0] != "migrate")
        throw UsageError("store needs migrate", "store");
    if (!parsed.has("--from") || !parsed.has("--to")) throw UsageError("store migrate needs --from and --to", "store");
    Config from_cfg = load_config(parsed.options["--from"]);
    Config to_cfg = load_config(parsed.options["--to"]);
    if (from_cfg.uses_postgresql() == to_cfg.uses_postgresql() && from_cfg.sqlite_path == to_cfg.sqlite_path &&
        from_cfg.pg_conninfo == to_cfg.pg_conninfo)
        throw UsageError("--from and --to name the same store", "store");
    auto from = source_store(from_cfg);
    auto to = open_configured_store(to_cfg, StoreUser::command);
    StoreCopyCounts n = copy_store(*from, *to, std::int64_t(std::time(nullptr)));
    std::cout << "certificates: " << n.certificates << " (revoked: " << n.revoked << ")\n"
              << "pending requests: " << n.pending << "\n"
              << "unused challenges: " << n.challenges << "\n"
              << "CRL number: " << n.crl_number << "\n";
    return kExitOk;
}

}  // namespace scepter::cli
