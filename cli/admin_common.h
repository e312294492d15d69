// What the commands that read and change the store share: opening it,
// parsing --limit, and printing tables (times and PEM: iso8601_utc and
// pem_encode, scepter/text.h).
#pragma once

#include "scepter/config.h"
#include "scepter/store.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace scepter::cli {

// The store the configuration names, or null when nothing was ever recorded
// (the file does not exist). Opening would create it, possibly owned by the
// wrong user for the web server's workers.
std::unique_ptr<Store> open_existing_store(const Config& config, const std::string& config_file);

// A positive count; throws UsageError naming `command` otherwise.
std::size_t parse_limit(const std::string& text, const std::string& command);

// Columns padded to the widest cell, two spaces apart.
void print_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace scepter::cli
