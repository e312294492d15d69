// An enrollment's rows in time order, with offsets and step durations, for
// `scepter trace` and the enrollments page alike. The
// trail has one line per step, written when the step ends: a step's
// duration is the time since the line before it in the same HTTP request.
#include "scepter/audit_trail.h"

#include <algorithm>

namespace scepter {
namespace {

// The line that opens an HTTP request: its duration is not in the trail.
bool opens_request(const AuditEntry& e) {
    return e.operation != "PKIOperation" || e.step == "message_parsed";
}

}  // namespace

std::vector<TimelineRow> timeline_of(const EnrollmentTrace& trace) noexcept {
    std::vector<TimelineRow> rows;
    try {
        for (const AuditEntry& e : trace.preceding) rows.push_back({&e, true});
        for (const AuditEntry& e : trace.steps) rows.push_back({&e, false});
        // The trail is in write order already; a stable sort only moves lines a
        // worker wrote late (several workers, one file) into time order.
        std::stable_sort(rows.begin(), rows.end(), [](const TimelineRow& a, const TimelineRow& b) {
            return a.entry->time_ms < b.entry->time_ms;
        });
        if (rows.empty()) return rows;
        const std::int64_t origin = rows.front().entry->time_ms;
        const AuditEntry* previous = nullptr;
        for (TimelineRow& r : rows) {
            const AuditEntry& e = *r.entry;
            r.offset_ms = e.time_ms - origin;
            if (!opens_request(e) && previous != nullptr && previous->operation == "PKIOperation")
                r.duration_ms = e.time_ms - previous->time_ms;
            if (is_failure(e)) r.hint = find_failure_hint(e.step, e.detail);
            previous = r.linked ? nullptr : &e;
        }
    } catch (const std::exception&) {
        rows.clear();  // out of memory: no timeline rather than half of one
    }
    return rows;
}

}  // namespace scepter
