#include "config/config_paths.h"

#include <sys/stat.h>

namespace scepter {
namespace {

void fail_if(const Config& cfg, const char* key, const std::string& problem) {
    if (!problem.empty()) throw ConfigError(cfg.path, cfg.line_of(key), key, problem);
}

}  // namespace

void check_worker_paths(const Config& cfg, const PathUser& user) {
    if (cfg.uses_postgresql()) {
        if (!cfg.pg_password_file.empty())
            fail_if(cfg, "store.postgresql_password_file", file_read_problem(cfg.pg_password_file, user));
    } else {
        fail_if(cfg, "store.sqlite", dir_write_problem(parent_dir(cfg.sqlite_path), user, false));
        for (const char* suffix : {"", "-wal", "-shm"})
            fail_if(cfg, "store.sqlite", file_write_problem(cfg.sqlite_path + suffix, user));
    }
    if (cfg.status_dir.empty()) return;
    fail_if(cfg, "status_dir", dir_write_problem(cfg.status_dir, user, true));
    for (const char* sub : {"/processing", "/succeeded", "/failed"}) {
        std::string dir = cfg.status_dir + sub;
        struct stat st {};
        if (stat(dir.c_str(), &st) == 0) fail_if(cfg, "status_dir", dir_write_problem(dir, user, false));
    }
}

}  // namespace scepter
