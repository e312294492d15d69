// What the commands that read and change the store share: opening the
// administration API, parsing --limit, and printing tables (times and PEM
// come from scepter/text.h: iso8601_utc, pem_encode).
#pragma once

#include "scepter/admin.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace scepter::cli {

// The administration API on the configuration file; the log lines of its
// operations (a failing policy, audit lines without an audit_log) go to
// stderr.
std::unique_ptr<Admin> open_admin(const std::string& config_file);

// A positive count; throws UsageError naming `command` otherwise.
std::size_t parse_limit(const std::string& text, const std::string& command);

// Columns padded to the widest cell, two spaces apart.
void print_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace scepter::cli
