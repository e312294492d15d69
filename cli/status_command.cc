// scepter status list|show|retry: the enrollment status records (NDES's
// .CRS files) under a profile's status directory: what is in flight, how
// each enrollment ended, and sending again the notifications an external
// validation service did not receive.
#include "admin_common.h"
#include "cli.h"
#include "integrations/external_validation.h"
#include "integrations/status_records.h"
#include "scepter/text.h"

#include <sys/stat.h>

#include <iostream>
#include <optional>

namespace scepter::cli {
namespace {

constexpr const char* kStatusHelp =
    "Usage: scepter status list --dir DIR [--state STATE]\n"
    "       scepter status show --dir DIR TRANSACTION_ID\n"
    "       scepter status retry --dir DIR [--success-url URL] [--failure-url URL]\n"
    "                            [--header 'NAME: VALUE'] [--caller-info TEXT]\n"
    "                            [--timeout-ms N] [--ca-file FILE]\n"
    "\n"
    "DIR holds one JSON record per enrollment: processing/ while it runs, then\n"
    "succeeded/ or failed/. It is never created here.\n"
    "\n"
    "list   prints TRANSACTION_ID STATE STARTED FINISHED NOTIFICATION, one line a\n"
    "       record; STATE is processing, succeeded, failed or all (the default).\n"
    "show   prints every field of the transaction's record (of each, should an\n"
    "       interrupted move have left two).\n"
    "retry  sends again each notification recorded as `failed: ...`: the success\n"
    "       notification for records in succeeded/ (needs --success-url), the\n"
    "       failure notification for those in failed/ (needs --failure-url), and\n"
    "       records the outcome (`sent` or `failed: why`). It prints one line per\n"
    "       record and fails (exit 1) when any notification still failed.\n";

const char* const kStates[] = {"processing", "succeeded", "failed"};

// Reading must not create the directories: created by root here, they would
// be unwritable for the web server's workers.
StatusRecords open_existing(const std::string& dir) {
    for (const char* sub : kStates) {
        struct stat st {};
        std::string path = dir + "/" + sub;
        if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            throw std::runtime_error("'" + dir + "' holds no status records (no " + sub + "/ directory)");
        }
    }
    return StatusRecords(dir);
}

std::string field(const std::map<std::string, std::string>& record, const std::string& key) {
    auto it = record.find(key);
    return it == record.end() ? "" : it->second;
}

int list_records(const std::string& dir, const std::string& state) {
    StatusRecords records = open_existing(dir);
    std::vector<std::vector<std::string>> rows{{"TRANSACTION_ID", "STATE", "STARTED", "FINISHED", "NOTIFICATION"}};
    for (const char* which : kStates) {
        if (state != "all" && state != which) continue;
        for (const std::string& id : records.list(which)) {
            std::map<std::string, std::string> r;
            try {
                if (auto found = records.read(which, id)) r = std::move(*found);
            } catch (const std::runtime_error& e) {
                r["notification"] = "(unreadable record)";
            }
            rows.push_back({id, which, field(r, "started_at"), field(r, "finished_at"), field(r, "notification")});
        }
    }
    print_table(rows);
    return kExitOk;
}

int show_record(const std::string& dir, const std::string& id) {
    StatusRecords records = open_existing(dir);
    bool found = false;
    for (const char* which : kStates) {
        auto r = records.read(which, id);
        if (!r) continue;
        if (found) std::cout << "\n";
        found = true;
        std::vector<std::vector<std::string>> rows{{"state:", which}};
        for (const auto& [key, value] : *r) {
            if (key != "state") rows.push_back({key + ":", value});
        }
        print_table(rows);
    }
    if (!found) {
        std::cerr << "scepter: no status record for transaction ID '" << id << "'\n";
        return kExitFailure;
    }
    return kExitOk;
}

std::optional<std::int64_t> parse_int(const std::string& text, int base) {
    std::size_t used = 0;
    try {
        long long v = std::stoll(text, &used, base);
        if (used == text.size() && !text.empty()) return v;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

// Sends one record's notification again; throws std::runtime_error saying
// what failed or what the record lacks.
void resend(ExternalValidator& validator, bool succeeded, const std::string& id,
            const std::map<std::string, std::string>& r) {
    auto need = [&](const char* key) {
        std::string v = field(r, key);
        if (v.empty()) throw std::runtime_error(std::string("the record has no ") + key);
        return v;
    };
    auto csr = base64_decode(need(StatusRecords::kCertificateRequest));
    if (!csr) throw std::runtime_error("the record's certificate_request is not base64");
    if (succeeded) {
        auto not_after = parse_int(need(StatusRecords::kNotAfter), 10);
        if (!not_after) throw std::runtime_error("the record's certificate_not_after is not a number");
        validator.notify_success(id, *csr, need(StatusRecords::kThumbprint), need(StatusRecords::kSerial), *not_after,
                                 need(StatusRecords::kIssuingCa));
    } else {
        std::string text = need(StatusRecords::kHresult);
        bool hex = text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0;
        auto hresult = parse_int(hex ? text.substr(2) : text, hex ? 16 : 10);
        if (!hresult || *hresult < 0 || *hresult > 0xFFFFFFFFLL) {
            throw std::runtime_error("the record's hresult is not a 32-bit number");
        }
        validator.notify_failure(id, *csr, std::uint32_t(*hresult), field(r, StatusRecords::kError));
    }
}

int retry_notifications(const std::string& dir, ParsedArgs& parsed) {
    ExternalValidationConfig cfg;
    cfg.success_url = parsed.options["--success-url"];
    cfg.failure_url = parsed.options["--failure-url"];
    if (parsed.has("--header")) cfg.headers.push_back(parsed.options["--header"]);
    if (parsed.has("--caller-info")) cfg.caller_info = parsed.options["--caller-info"];
    if (parsed.has("--ca-file")) cfg.ca_file = parsed.options["--ca-file"];
    if (parsed.has("--timeout-ms")) {
        auto ms = parse_int(parsed.options["--timeout-ms"], 10);
        if (!ms || *ms < 1 || *ms > 600000) throw UsageError("--timeout-ms needs 1..600000", "status");
        cfg.timeout_ms = int(*ms);
    }
    std::optional<ExternalValidator> validator;
    try {
        validator.emplace(cfg);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what(), "status");
    }
    StatusRecords records = open_existing(dir);
    int failures = 0;
    for (bool succeeded : {true, false}) {
        const char* which = succeeded ? "succeeded" : "failed";
        const std::string& url = succeeded ? cfg.success_url : cfg.failure_url;
        for (const std::string& id : records.list(which)) {
            std::optional<std::map<std::string, std::string>> r;
            try {
                r = records.read(which, id);
            } catch (const std::runtime_error& e) {
                std::cout << id << ": skipped: " << e.what() << "\n";
                ++failures;
                continue;
            }
            if (!r || field(*r, StatusRecords::kNotification).rfind("failed", 0) != 0) continue;
            if (url.empty()) {
                std::cout << id << ": skipped: no " << (succeeded ? "--success-url" : "--failure-url") << "\n";
                continue;
            }
            std::string outcome;
            try {
                resend(*validator, succeeded, id, *r);
                outcome = "sent";
            } catch (const std::runtime_error& e) {
                outcome = std::string("failed: ") + e.what();
                ++failures;
            }
            records.finish(id, succeeded, {{StatusRecords::kNotification, outcome}});
            std::cout << id << ": " << outcome << "\n";
        }
    }
    return failures ? kExitFailure : kExitOk;
}

}  // namespace

int run_status(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args,
                                   {"--dir", "--state", "--success-url", "--failure-url", "--header",
                                    "--caller-info", "--timeout-ms", "--ca-file"},
                                   {}, "status");
    if (parsed.help) {
        std::cout << kStatusHelp;
        return kExitOk;
    }
    if (parsed.positionals.empty()) throw UsageError("status needs list, show or retry", "status");
    const std::string sub = parsed.positionals[0];
    if (sub != "list" && sub != "show" && sub != "retry") {
        throw UsageError("unknown status command '" + sub + "'", "status");
    }
    if (!parsed.has("--dir") || parsed.options["--dir"].empty()) {
        throw UsageError("status " + sub + " needs --dir DIR", "status");
    }
    if (sub != "list" && parsed.has("--state")) throw UsageError("--state belongs to status list", "status");
    if (sub != "retry") {
        for (const char* opt : {"--success-url", "--failure-url", "--header", "--caller-info", "--timeout-ms",
                                "--ca-file"}) {
            if (parsed.has(opt)) throw UsageError(std::string(opt) + " belongs to status retry", "status");
        }
    }
    std::size_t words = sub == "show" ? 2 : 1;
    if (parsed.positionals.size() != words) {
        throw UsageError(sub == "show" ? "status show takes one TRANSACTION_ID" : "status " + sub + " takes no arguments",
                         "status");
    }
    const std::string dir = parsed.options["--dir"];
    if (sub == "list") {
        std::string state = parsed.has("--state") ? parsed.options["--state"] : "all";
        if (state != "all" && state != "processing" && state != "succeeded" && state != "failed") {
            throw UsageError("--state is processing, succeeded, failed or all, not '" + state + "'", "status");
        }
        return list_records(dir, state);
    }
    if (sub == "show") return show_record(dir, parsed.positionals[1]);
    if (!parsed.has("--success-url") && !parsed.has("--failure-url")) {
        throw UsageError("status retry needs --success-url and/or --failure-url", "status");
    }
    return retry_notifications(dir, parsed);
}

}  // namespace scepter::cli
