// scepter trace: one enrollment's story from the audit trail (every step,
// its time and duration, the client and the failing step with what to
// check), enrollments found by subject, serial or address, and recent
// failures grouped by step and reason. Reads the trail through
// scepter/audit_trail.h only.
#include "admin_common.h"
#include "cli.h"
#include "trace_output.h"

#include <ctime>
#include <iostream>

namespace scepter::cli {
namespace {

constexpr const char* kTraceHelp =
    "Usage: scepter trace [--config FILE | --audit-log FILE] TRANSACTION_ID [--json]\n"
    "       scepter trace [--config FILE | --audit-log FILE] --subject TEXT | --serial HEX |\n"
    "                     --client IP [--since AGE] [--limit N] [--json]\n"
    "       scepter trace [--config FILE | --audit-log FILE] --failed [--since AGE] [--json]\n"
    "       scepter trace --hints\n"
    "\n"
    "Reads the audit trail: the configuration's audit_log (--config), or FILE\n"
    "(--audit-log, which wins over --config), with its rotated copies (FILE.1,\n"
    "FILE.2.gz, FILE-DATE.gz).\n"
    "\n"
    "TRANSACTION_ID  one enrollment as a timeline: each step with its offset from\n"
    "                the first and its duration, the client's address, user agent\n"
    "                and guessed OS, profile, template and outcome. The GetCACaps\n"
    "                and GetCACert the same client sent in the 5 minutes before are\n"
    "                shown in it; the failing step carries its cause and what to\n"
    "                check (docs/TROUBLESHOOTING.md). Exit 1 when it is not found.\n"
    "--subject TEXT  enrollments whose CSR subject contains TEXT (\"CN=dev1\" or \"dev1\")\n"
    "--serial HEX    the enrollment that issued this certificate serial\n"
    "--client IP     enrollments from this address\n"
    "--failed        failures grouped by step and reason, most frequent first\n"
    "--since AGE     only what happened in the last AGE: 90s, 30m, 1h, 2d, 1w\n"
    "                (--failed: default 24h)\n"
    "--limit N       list at most the N newest enrollments (default 50)\n"
    "--json          one JSON document instead of text\n"
    "--hints         print the table of failure hints (Markdown)\n";

constexpr std::size_t kDefaultLimit = 50;

std::string trail_path(ParsedArgs& parsed) {
    if (parsed.has("--audit-log")) {  // wins over --config: a copy of the trail elsewhere
        if (parsed.options["--audit-log"].empty()) throw UsageError("--audit-log needs a file", "trace");
        return parsed.options["--audit-log"];
    }
    if (!parsed.has("--config")) throw UsageError("trace needs --config FILE or --audit-log FILE", "trace");
    TrailLocation where = trail_of_config(parsed.options["--config"]);
    if (!where.error.empty()) throw std::runtime_error(where.error);
    return where.path;
}

std::int64_t now_ms() { return std::int64_t(std::time(nullptr)) * 1000; }

std::int64_t since_ms(ParsedArgs& parsed, const char* dflt) {
    std::string text = parsed.has("--since") ? parsed.options["--since"] : dflt;
    if (text.empty()) return 0;
    auto ms = parse_duration(text);
    if (!ms) throw UsageError("--since takes an age like 90s, 30m, 1h, 2d or 1w, not '" + text + "'", "trace");
    return now_ms() - *ms;
}

int trace_one(const std::string& trail, const std::string& id, bool json) {
    EnrollmentTrace trace = trace_enrollment(trail, id);
    print_problems(trace.problems);
    if (trace.steps.empty()) {
        std::cerr << "scepter: no audit line has transaction ID '" << id << "' in " << trail << "\n";
        return kExitFailure;
    }
    EnrollmentSummary summary = summarize(trace);
    std::vector<TimelineRow> rows = timeline_of(trace);
    if (json) print_trace_json(trace, summary, rows);
    else print_trace_text(trace, summary, rows);
    return kExitOk;
}

int find(const std::string& trail, ParsedArgs& parsed, bool json) {
    EnrollmentQuery q;
    q.subject = parsed.options["--subject"];
    q.serial = parsed.options["--serial"];
    q.client_ip = parsed.options["--client"];
    q.since_ms = since_ms(parsed, "");
    std::size_t limit = parsed.has("--limit") ? parse_limit(parsed.options["--limit"], "trace") : kDefaultLimit;
    EnrollmentList list = find_enrollments(trail, q, limit);
    print_problems(list.problems);
    if (json) print_list_json(list);
    else if (!list.enrollments.empty()) print_list_text(list);
    if (list.enrollments.empty()) {
        if (!json) std::cerr << "scepter: no enrollment matched in " << trail << "\n";
        return kExitFailure;
    }
    return kExitOk;
}

int failures(const std::string& trail, ParsedArgs& parsed, bool json) {
    std::string since = parsed.has("--since") ? parsed.options["--since"] : "24h";
    FailureReport report = recent_failures(trail, since_ms(parsed, "24h"));
    print_problems(report.problems);
    if (json) print_failures_json(report, since);
    else print_failures_text(report, "the last " + since);
    return kExitOk;
}

}  // namespace

int run_trace(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--config", "--audit-log", "--subject", "--serial", "--client", "--since",
                                          "--limit"},
                                   {"--failed", "--json", "--hints"}, "trace");
    if (parsed.help) {
        std::cout << kTraceHelp;
        return kExitOk;
    }
    if (parsed.has("--hints")) {
        print_hints_markdown();
        return kExitOk;
    }
    const bool json = parsed.has("--json");
    int modes = int(!parsed.positionals.empty()) + int(parsed.has("--failed")) +
                int(parsed.has("--subject") || parsed.has("--serial") || parsed.has("--client"));
    if (modes != 1)
        throw UsageError("give one of TRANSACTION_ID, --failed, or --subject/--serial/--client", "trace");
    if (parsed.positionals.size() > 1) throw UsageError("trace takes one TRANSACTION_ID", "trace");
    for (const char* opt : {"--subject", "--serial", "--client"})
        if (parsed.has(opt) && parsed.options[opt].empty()) throw UsageError(std::string(opt) + " needs a value", "trace");
    if (parsed.has("--limit") && (parsed.has("--failed") || !parsed.positionals.empty()))
        throw UsageError("--limit belongs to --subject, --serial and --client", "trace");
    if (parsed.has("--since") && !parsed.positionals.empty())
        throw UsageError("--since does not apply to one TRANSACTION_ID", "trace");
    const std::string trail = trail_path(parsed);
    if (!parsed.positionals.empty()) return trace_one(trail, parsed.positionals[0], json);
    if (parsed.has("--failed")) return failures(trail, parsed, json);
    return find(trail, parsed, json);
}

}  // namespace scepter::cli
