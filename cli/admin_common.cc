#include "admin_common.h"

#include "cli.h"
#include "scepter/ossl.h"

#include <algorithm>
#include <iostream>
#include <stdexcept>

namespace scepter::cli {

std::unique_ptr<Admin> open_admin(const std::string& config_file) {
    return std::make_unique<Admin>(config_file, [](scepter_log_level, const std::string& line) {
        std::cerr << "scepter: " << line << "\n";
    });
}

std::size_t parse_limit(const std::string& text, const std::string& command) {
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || text[0] == '-' || n == 0) {
        throw UsageError("--limit needs a positive number, not '" + text + "'", command);
    }
    return std::size_t(n);
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
        }
        std::cout << line << "\n";
    }
}


}  // namespace scepter::cli
