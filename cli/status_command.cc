// scepter status list|show|retry: the enrollment status records (NDES's
// .CRS files) under a profile's status directory: what is in flight, how
// each enrollment ended, and sending again the notifications an external
// validation service did not receive.
#include "admin_common.h"
#include "cli.h"
#include "scepter/text.h"

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

std::string field(const StatusRecord& record, const std::string& key) {
    auto it = record.fields.find(key);
    return it == record.fields.end() ? "" : it->second;
}

int list_records(const std::string& dir, const std::string& state) {
    std::vector<std::vector<std::string>> rows{{"TRANSACTION_ID", "STATE", "STARTED", "FINISHED", "NOTIFICATION"}};
    for (const StatusRecord& r : StatusDirectory(dir).list(state)) {
        std::string notification = r.unreadable.empty() ? field(r, "notification") : "(unreadable record)";
        rows.push_back({r.transaction_id, r.state, field(r, "started_at"), field(r, "finished_at"), notification});
    }
    print_table(rows);
    return kExitOk;
}

int show_record(const std::string& dir, const std::string& id) {
    std::vector<StatusRecord> found = StatusDirectory(dir).find(id);
    if (found.empty()) {
        std::cerr << "scepter: no status record for transaction ID '" << id << "'\n";
        return kExitFailure;
    }
    for (std::size_t i = 0; i < found.size(); ++i) {
        if (!found[i].unreadable.empty()) throw std::runtime_error(found[i].unreadable);
        if (i > 0) std::cout << "\n";
        std::vector<std::vector<std::string>> rows{{"state:", found[i].state}};
        for (const auto& [key, value] : found[i].fields) {
            if (key != "state") rows.push_back({key + ":", value});
        }
        print_table(rows);
    }
    return kExitOk;
}

void print_retry(const NotificationRetry& r) {
    using Result = NotificationRetry::Result;
    std::cout << r.transaction_id << ": ";
    switch (r.result) {
        case Result::sent: std::cout << "sent"; break;
        case Result::failed: std::cout << "failed: " << r.why; break;
        case Result::unreadable: std::cout << "skipped: " << r.why; break;
        case Result::no_url: std::cout << "skipped: no " << (r.succeeded ? "--success-url" : "--failure-url"); break;
    }
    std::cout << "\n";
}

int retry_notifications(const std::string& dir, ParsedArgs& parsed) {
    NotificationTargets targets;
    targets.success_url = parsed.options["--success-url"];
    targets.failure_url = parsed.options["--failure-url"];
    if (parsed.has("--header")) targets.headers.push_back(parsed.options["--header"]);
    if (parsed.has("--caller-info")) targets.caller_info = parsed.options["--caller-info"];
    if (parsed.has("--ca-file")) targets.ca_file = parsed.options["--ca-file"];
    if (parsed.has("--timeout-ms")) {
        auto ms = parse_int(parsed.options["--timeout-ms"]);
        if (!ms || *ms < 1 || *ms > 600000) throw UsageError("--timeout-ms needs 1..600000", "status");
        targets.timeout_ms = int(*ms);
    }
    StatusDirectory records(dir);
    std::size_t failures = 0;
    try {
        failures = records.retry_notifications(targets, print_retry);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what(), "status");
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
