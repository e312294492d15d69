// `scepter trace` for an admin's eyes: one enrollment as a timeline with
// the failing step's hint under it, lists of enrollments, failure groups.
#include "admin_common.h"
#include "trace_output.h"

#include <cstdio>
#include <iostream>

namespace scepter::cli {
namespace {

std::string seconds(std::int64_t ms) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "+%lld.%03llds", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000));
    return buf;
}

std::string duration(std::int64_t ms) { return ms < 0 ? "-" : std::to_string(ms) + " ms"; }

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

// What the row's step did, in a few words: its detail, or its notable fields.
std::string what(const AuditEntry& e) {
    if (!e.detail.empty()) return e.detail;
    std::string out;
    for (const char* key : {"pki_status", "fail_info", "serial", "subject", "key", "template", "kind", "cipher",
                            "code", "verdict", "decision", "content_type"}) {
        const std::string& v = e.field(key);
        if (!v.empty()) out += (out.empty() ? "" : " ") + std::string(key) + "=" + v;
    }
    return out;
}

void print_hint(const FailureHint* hint) {
    if (hint == nullptr) return;
    std::cout << "      >> " << hint->key << ": " << hint->cause << "\n"
              << "      >> check: " << hint->check << "\n";
}

}  // namespace

void print_trace_text(const EnrollmentTrace& trace, const EnrollmentSummary& s, const std::vector<TimelineRow>& rows) {
    std::string agent;
    for (const AuditEntry& e : trace.steps)
        if (e.operation == "PKIOperation") {
            agent = e.user_agent;
            break;
        }
    std::string outcome = s.outcome;
    if (s.outcome == "failed") outcome += " at " + s.failed_step + ": " + s.detail;
    if (s.outcome == "issued" && !s.serial.empty()) outcome += ", serial " + s.serial;
    print_table({{"transaction:", s.transaction_id},
                 {"started:", s.first_time},
                 {"client:", or_dash(s.client_ip) + " (" + or_dash(s.client_os) + ")"},
                 {"user agent:", agent.empty() ? "(none sent)" : agent},
                 {"profile:", or_dash(s.profile)},
                 {"message type:", or_dash(s.message_type)},
                 {"subject:", or_dash(s.subject)},
                 {"template:", or_dash(s.template_name)},
                 {"outcome:", outcome}});
    std::cout << "\n";
    std::vector<std::vector<std::string>> table{{"  OFFSET", "DURATION", "STEP", "OUTCOME", "ID", "WHAT"}};
    std::vector<const FailureHint*> hints{nullptr};
    for (const TimelineRow& r : rows) {
        const AuditEntry& e = *r.entry;
        std::string step = r.linked ? e.step + " (same client, before)" : e.step;
        std::string outcome = is_failure(e) ? "FAILED" : e.outcome;
        table.push_back({"  " + seconds(r.offset_ms), duration(r.duration_ms), step, outcome, e.id, what(e)});
        hints.push_back(r.hint);
    }
    // print_table pads columns; the hints go under their row, so print row by row.
    std::vector<std::size_t> widths;
    for (const auto& row : table) {
        widths.resize(std::max(widths.size(), row.size()), 0);
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    for (std::size_t r = 0; r < table.size(); ++r) {
        std::string line;
        for (std::size_t i = 0; i < table[r].size(); ++i) {
            line += table[r][i];
            if (i + 1 < table[r].size()) line += std::string(widths[i] - table[r][i].size() + 2, ' ');
        }
        line.erase(line.find_last_not_of(' ') + 1);  // an empty last column leaves no trailing blanks
        std::cout << line << "\n";
        print_hint(hints[r]);
    }
}

void print_list_text(const EnrollmentList& list) {
    std::vector<std::vector<std::string>> rows{
        {"TRANSACTION_ID", "STARTED", "CLIENT", "OS", "PROFILE", "SUBJECT", "OUTCOME"}};
    for (const EnrollmentSummary& s : list.enrollments) {
        std::string outcome = s.outcome == "failed" ? "failed at " + s.failed_step : s.outcome;
        rows.push_back({s.transaction_id, s.first_time, or_dash(s.client_ip), or_dash(s.client_os), or_dash(s.profile),
                        or_dash(s.subject), outcome});
    }
    print_table(rows);
    if (list.matched > list.enrollments.size())
        std::cout << "(" << list.matched << " enrollments matched; the newest " << list.enrollments.size()
                  << " are shown, see --limit)\n";
}

void print_failures_text(const FailureReport& report, const std::string& since) {
    std::cout << report.failures << " failure" << (report.failures == 1 ? "" : "s") << " in " << since << "\n";
    for (const FailureGroup& g : report.groups) {
        std::cout << "\n" << g.count << " x " << g.step << ": " << g.reason
                  << (g.fail_info.empty() ? "" : " (" + g.fail_info + ")") << "\n";
        print_table({{"  last:", g.last_time + " (first " + g.first_time + ")"},
                     {"  detail:", g.example_detail},
                     {"  latest:", [&] {
                          std::string ids;
                          for (const auto& id : g.transaction_ids) ids += (ids.empty() ? "" : " ") + id;
                          return or_dash(ids);
                      }()}});
        if (g.hint != nullptr)
            std::cout << "  cause:   " << g.hint->cause << "\n  check:   " << g.hint->check << "\n";
    }
}

void print_hints_markdown() {
    std::cout << "| Key | Step | Detail contains | Cause | What to check |\n|---|---|---|---|---|\n";
    for (const FailureHint& h : failure_hints()) {
        std::cout << "| `" << h.key << "` | " << (h.step[0] ? "`" + std::string(h.step) + "`" : "any") << " | "
                  << (h.match[0] ? "`" + std::string(h.match) + "`" : "(any)") << " | " << h.cause << " | "
                  << h.check << " |\n";
    }
}

void print_problems(const TrailProblems& problems) {
    for (const std::string& e : problems.errors) std::cerr << "scepter: warning: " << e << "\n";
    if (problems.unreadable_lines > 0)
        std::cerr << "scepter: warning: " << problems.unreadable_lines << " line(s) of the trail are not audit entries\n";
}

}  // namespace scepter::cli
