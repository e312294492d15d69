// scepter certs list|show: read the issued certificates from the store the
// configuration names.
#include "cli.h"
#include "scepter/config.h"
#include "scepter/ossl.h"
#include "scepter/store.h"

#include <openssl/pem.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

namespace scepter::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kDefaultLimit = 100;

constexpr const char* kCertsHelp =
    "Usage: scepter certs list --config FILE [--limit N]\n"
    "       scepter certs show --config FILE SERIAL|THUMBPRINT\n"
    "\n"
    "list  prints a table of the issued certificates, newest first (default\n"
    "      limit 100): SERIAL SUBJECT TEMPLATE NOT_AFTER SHA256.\n"
    "show  prints every stored field of one certificate as `name: value` lines,\n"
    "      then its PEM. The key is the serial or the SHA-1 or SHA-256\n"
    "      thumbprint, in hex, any case, colons allowed.\n"
    "\n"
    "The store is the one `store.sqlite` in FILE names; it is never created here.\n";

std::string utc_time(std::int64_t unix_seconds) {
    std::time_t t = std::time_t(unix_seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// The store the config names, or null when nothing was ever recorded (the
// file does not exist). Opening would create it, possibly owned by the wrong
// user for the web server's workers.
std::unique_ptr<Store> open_existing_store(const std::string& config_file) {
    Config config = load_config(config_file);
    fs::path db = config.sqlite_path;
    if (db.is_relative()) db = fs::absolute(config_file).parent_path() / db;
    if (!fs::exists(db)) return nullptr;
    return open_sqlite_store(db.string(), config.busy_timeout_ms);
}

std::size_t parse_limit(const std::string& text) {
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || text[0] == '-' || n == 0) {
        throw UsageError("--limit needs a positive number, not '" + text + "'", "certs");
    }
    return std::size_t(n);
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        widths.resize(row.size(), 0);
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

int list_certs(const std::string& config_file, std::size_t limit) {
    std::vector<std::vector<std::string>> rows{
        {"SERIAL", "SUBJECT", "TEMPLATE", "NOT_AFTER", "SHA256"}};
    if (auto store = open_existing_store(config_file)) {
        for (const auto& c : store->list_certs(limit)) {
            rows.push_back({c.serial_hex, c.subject, c.template_name, utc_time(c.not_after),
                            c.sha256_hex});
        }
    }
    print_table(rows);
    return kExitOk;
}

std::string der_to_pem(const std::vector<unsigned char>& der) {
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio(bio.get(), "CERTIFICATE", "", der.data(), long(der.size())) <= 0) {
        throw std::runtime_error("cannot encode the certificate as PEM");
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, std::size_t(len));
}

void print_cert(const IssuedCert& c) {
    print_table({{"serial:", c.serial_hex},
                 {"subject:", c.subject},
                 {"sans:", c.sans},
                 {"template:", c.template_name},
                 {"profile:", c.profile},
                 {"status:", c.status},
                 {"not_before:", utc_time(c.not_before)},
                 {"not_after:", utc_time(c.not_after)},
                 {"issued_at:", utc_time(c.issued_at)},
                 {"transaction_id:", c.transaction_id},
                 {"requester_ip:", c.requester_ip},
                 {"sha1:", c.sha1_hex},
                 {"sha256:", c.sha256_hex}});
    std::cout << der_to_pem(c.der);
}

int show_cert(const std::string& config_file, const std::string& key) {
    auto store = open_existing_store(config_file);
    std::optional<IssuedCert> cert;
    if (store) cert = store->find_cert(key);
    if (!cert) {
        std::cerr << "scepter: no certificate with serial or thumbprint '" << key << "'\n";
        return kExitFailure;
    }
    print_cert(*cert);
    return kExitOk;
}

}  // namespace

int run_certs(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--config", "--limit"}, {}, "certs");
    if (parsed.help) {
        std::cout << kCertsHelp;
        return kExitOk;
    }
    if (parsed.positionals.empty()) throw UsageError("certs needs list or show", "certs");
    const std::string sub = parsed.positionals[0];
    if (sub != "list" && sub != "show") throw UsageError("unknown certs command '" + sub + "'", "certs");
    if (!parsed.has("--config")) throw UsageError("certs " + sub + " needs --config FILE", "certs");
    const std::string& config_file = parsed.options["--config"];
    if (sub == "list") {
        if (parsed.positionals.size() != 1) throw UsageError("certs list takes no arguments", "certs");
        std::size_t limit = parsed.has("--limit") ? parse_limit(parsed.options["--limit"]) : kDefaultLimit;
        return list_certs(config_file, limit);
    }
    if (parsed.has("--limit")) throw UsageError("--limit belongs to certs list", "certs");
    if (parsed.positionals.size() != 2) throw UsageError("certs show takes one SERIAL|THUMBPRINT", "certs");
    return show_cert(config_file, parsed.positionals[1]);
}

}  // namespace scepter::cli
