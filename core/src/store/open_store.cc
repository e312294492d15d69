// Which store a configuration names.
#include "scepter/config.h"

namespace scepter {

std::unique_ptr<Store> open_configured_store(const Config& cfg, StoreUser user) {
    if (cfg.uses_postgresql()) return open_pg_store(cfg.pg_settings());
    return open_sqlite_store(cfg.sqlite_path, cfg.store_settings(user));
}

}  // namespace scepter
