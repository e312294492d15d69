// How `scepter trace` shows what it found: as text for an admin
// (trace_text.cc) or as JSON for scripts (trace_json.cc). Both print to
// stdout and take what audit_trail.h answered, nothing else.
#pragma once

#include "scepter/audit_trail.h"

#include <cstdint>
#include <string>
#include <vector>

namespace scepter::cli {

// One row of an enrollment's timeline: a step of the transaction, or a
// GetCACaps/GetCACert of the same client just before it (linked).
struct TimelineRow {
    const AuditEntry* entry = nullptr;
    bool linked = false;
    std::int64_t offset_ms = 0;     // from the first row
    std::int64_t duration_ms = -1;  // since the previous line of the same request; -1: the request's first line
    const FailureHint* hint = nullptr;  // for a failure
};

std::vector<TimelineRow> timeline_of(const EnrollmentTrace& trace);

void print_trace_text(const EnrollmentTrace& trace, const EnrollmentSummary& summary,
                      const std::vector<TimelineRow>& rows);
void print_trace_json(const EnrollmentTrace& trace, const EnrollmentSummary& summary,
                      const std::vector<TimelineRow>& rows);

void print_list_text(const EnrollmentList& list);
void print_list_json(const EnrollmentList& list);

void print_failures_text(const FailureReport& report, const std::string& since);
void print_failures_json(const FailureReport& report, const std::string& since);

// The hint table as Markdown (docs/TROUBLESHOOTING.md carries its output).
void print_hints_markdown();

// Read problems to stderr (text) so the answer on stdout stays clean.
void print_problems(const TrailProblems& problems);

}  // namespace scepter::cli
