// How `scepter trace` shows what it found: as text for an admin
// (trace_text.cc) or as JSON for scripts (trace_json.cc). Both print to
// stdout and take what audit_trail.h answered, nothing else.
#pragma once

#include "scepter/audit_trail.h"

#include <cstdint>
#include <string>
#include <vector>

namespace scepter::cli {

// The timeline (TimelineRow, timeline_of) is the core's (audit_trail.h), so
// the enrollments page draws the same durations.

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
