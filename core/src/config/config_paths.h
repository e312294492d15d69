// The places a worker writes, checked for the user it runs as: at
// configuration time (the current user, and the web server's worker user
// where the connector knows it) and again in the worker as itself.
#pragma once

#include "scepter/config.h"
#include "util/path_access.h"

namespace scepter {

// The store's directory (SQLite adds -wal and -shm files beside the
// database) and its files, status_dir (created with its subdirectories by
// the first worker). Throws ConfigError pointing at the key.
void check_worker_paths(const Config& cfg, const PathUser& user);

}  // namespace scepter
