// Recent failures, grouped by the step that failed and why, most frequent
// first: what an admin looks at first when "enrollment is broken".
#include "audit/trail_scan.h"

#include <algorithm>
#include <map>

namespace scepter {
namespace {

constexpr std::size_t kExampleIds = 3;

}  // namespace

FailureReport recent_failures(const std::string& current, std::int64_t since_ms) noexcept {
    FailureReport out;
    try {
        std::vector<TrailFile> files = trail_files(current);
        if (files.empty()) out.problems.errors.push_back(current + ": no such file");
        std::map<std::pair<std::string, std::string>, FailureGroup> groups;
        for (std::size_t i = 0; i < files.size(); ++i) {
            if (written_before(files[i], since_ms)) continue;
            std::string error = read_trail_file(files[i], i, [&](const TrailLine& l) {
                if (!line_has(l.text, "\"outcome\":\"failed\"") && !line_has(l.text, "\"pki_status\":\"FAILURE\""))
                    return true;
                auto e = parse_counted(l.text, out.problems);
                if (!e || e->time_ms < since_ms || !is_failure(*e)) return true;
                std::string reason = failure_reason(e->step, e->detail);
                FailureGroup& g = groups[{e->step, reason}];
                if (g.count++ == 0) {
                    g.step = e->step;
                    g.reason = reason;
                    g.first_time = e->time;
                    g.hint = find_failure_hint(e->step, e->detail);
                }
                g.last_time = e->time;
                g.example_detail = e->detail;
                if (!e->field("fail_info").empty()) g.fail_info = e->field("fail_info");
                if (!e->transaction_id.empty()) {
                    g.transaction_ids.push_back(e->transaction_id);
                    if (g.transaction_ids.size() > kExampleIds) g.transaction_ids.erase(g.transaction_ids.begin());
                }
                ++out.failures;
                return true;
            }, window_offset(files[i], i, since_ms));
            if (!error.empty()) out.problems.errors.push_back(std::move(error));
        }
        for (auto& [key, g] : groups) out.groups.push_back(std::move(g));
        std::stable_sort(out.groups.begin(), out.groups.end(),
                         [](const FailureGroup& a, const FailureGroup& b) { return a.count > b.count; });
    } catch (const std::exception& e) {
        out.problems.errors.push_back(std::string("search stopped: ") + e.what());
    }
    return out;
}

}  // namespace scepter
