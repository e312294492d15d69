// Reading the audit trail back: the JSON lines core/src/audit/audit.cc
// writes, one per enrollment step, in the current file and its rotated
// copies (audit.log.1, audit.log.2.gz, ...). `scepter trace` answers an
// admin's questions with it (which step failed for this device, why, what to
// check) and uses nothing else of the core.
//
// Every function here is noexcept: what cannot be read (a file, a line) is
// reported in the result, never thrown, so one damaged rotated file does not
// hide the rest of the trail.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scepter {

// ---- one line ---------------------------------------------------------------

struct AuditEntry {
    std::int64_t time_ms = 0;  // Unix time in milliseconds, from `time`
    std::string time;          // as written: "2026-11-25T06:30:00.123Z"
    std::string id;            // SCP2xxx (scepter/log_ids.h)
    std::string step;          // message_parsed, challenge_lookup, ...
    std::string outcome;       // "ok" or "failed"
    std::string transaction_id, profile, operation, message_type;
    std::string client_ip, user_agent, client_os;
    std::string detail;        // why a step failed (the failInfoText's reason)
    // The step's own fields (fail_info, serial, subject, template, ...), in order.
    std::vector<std::pair<std::string, std::string>> extra;

    // An extra field's value, "" when absent.
    const std::string& field(std::string_view key) const noexcept;
    bool failed() const noexcept { return outcome == "failed"; }
};

// One line of the trail; nullopt when it is not an audit entry (not a flat
// JSON object of strings, or without time and step).
std::optional<AuditEntry> parse_audit_entry(std::string_view line) noexcept;

// "2026-11-25T06:30:00.123Z" (fraction optional) as Unix milliseconds.
std::optional<std::int64_t> parse_audit_time(std::string_view iso) noexcept;

// "90s", "30m", "1h", "2d", "1w" as milliseconds; nullopt otherwise.
std::optional<std::int64_t> parse_duration(std::string_view text) noexcept;

// ---- the files --------------------------------------------------------------

// The audit_log a configuration file names, made absolute as the servers
// do. Only that key is read, so an admin who may read the trail but not the
// CA key can still use it. error says why there is none (no such file, the
// YAML does not parse, no audit_log: the lines go to the error log).
struct TrailLocation {
    std::string path;
    std::string error;
};
TrailLocation trail_of_config(const std::string& config_file) noexcept;

struct TrailFile {
    std::string path;
    bool gzip = false;
};

// The trail whose current file is `current`: its rotated copies
// (current.N or current.N.gz, also current-YYYYMMDD[.gz] as logrotate's
// dateext writes them), oldest first, then `current` itself. Only files
// that exist are listed.
std::vector<TrailFile> trail_files(const std::string& current) noexcept;

// A line as read: its text (without the newline), and which file and byte
// offset (uncompressed) it starts at.
struct TrailLine {
    std::string_view text;
    std::size_t file = 0;  // index into the trail_files list
    std::uint64_t offset = 0;
};

// Streams the lines of one file. `visit` returns false to stop early. Lines
// longer than 1 MiB are skipped (no audit line is near that). `from` > 0
// starts at the first line that begins at or after that byte offset, by
// seeking in a plain file (a gzip file is read from its start, and the lines
// before `from` skipped). Returns "" or why the file could not be read (to
// the end).
std::string read_trail_file(const TrailFile& file, std::size_t index,
                            const std::function<bool(const TrailLine&)>& visit, std::uint64_t from = 0) noexcept;

// ---- what went wrong, for an admin ------------------------------------------

// One row of the hint table (core/src/audit/failure_hints.cc), which is also
// the source of docs/TROUBLESHOOTING.md's table.
struct FailureHint {
    const char* key;    // what the admin sees: the failInfoText code or a name for the case
    const char* step;   // the failing step it applies to; "" for any step
    const char* match;  // a text the step's detail contains; "" for any detail
    const char* cause;  // one line: what most likely happened
    const char* check;  // one line: what to check or do
};

const std::vector<FailureHint>& failure_hints() noexcept;

// The hint for a failed step (step name and its detail); null when none fits.
const FailureHint* find_failure_hint(std::string_view step, std::string_view detail) noexcept;

// What a failure is grouped by: its hint's key, else the code that starts
// the detail ("ChallengeExpired: ..."), else the detail itself, shortened.
std::string failure_reason(std::string_view step, std::string_view detail) noexcept;

// Whether an entry reports a failure to the device: a failed step, or a
// FAILURE answered without one (the worker was not ready).
bool is_failure(const AuditEntry& e) noexcept;

// ---- questions about enrollments ---------------------------------------------

// The problems met while reading (a file that cannot be opened, a corrupt
// gzip); the answers are what could be read.
struct TrailProblems {
    std::vector<std::string> errors;
    std::uint64_t unreadable_lines = 0;  // lines that passed the quick filter but did not parse
};

// One enrollment (transaction ID), its steps in trail order.
struct EnrollmentTrace {
    std::string transaction_id;
    std::vector<AuditEntry> steps;       // every line with this transaction ID
    std::vector<AuditEntry> preceding;   // GetCACaps/GetCACert of the same client just before
    TrailProblems problems;
};

// How far back GetCACaps/GetCACert of the same client count as part of an
// enrollment (a device asks for them right before its PKIOperation).
constexpr std::int64_t kPrecedingWindowMs = 5 * 60 * 1000;

// Every line of one transaction, and the requests that led to it. Files
// last written before since_ms are not read (the enrollments page bounds
// its work so; 0 reads them all).
EnrollmentTrace trace_enrollment(const std::string& current, const std::string& transaction_id,
                                 std::int64_t since_ms = 0) noexcept;

// What an admin knows about a device. Empty fields do not restrict.
struct EnrollmentQuery {
    std::string subject;    // contained in the CSR's or certificate's subject ("CN=dev1" or "dev1")
    std::string serial;     // the certificate's serial, hex, any case, leading zeros ignored
    std::string client_ip;  // exactly
    std::int64_t since_ms = 0;  // lines before it do not match; files written before it are not read
};

// One enrollment in a list.
struct EnrollmentSummary {
    std::string transaction_id;
    std::string first_time, last_time;
    std::string profile, message_type, client_ip, client_os, subject, template_name, serial;
    std::string outcome;       // "issued", "failed", "pending", "in progress"
    std::string failed_step;   // when failed
    std::string detail;        // when failed
};

struct EnrollmentList {
    std::vector<EnrollmentSummary> enrollments;  // oldest first, at most `limit` (the newest)
    std::size_t matched = 0;                     // before the limit
    TrailProblems problems;
};

EnrollmentList find_enrollments(const std::string& current, const EnrollmentQuery& query, std::size_t limit) noexcept;

// The summary of one trace.
EnrollmentSummary summarize(const EnrollmentTrace& trace) noexcept;

// One row of an enrollment's timeline: a step of the transaction, or a
// GetCACaps/GetCACert of the same client just before it (linked). `scepter
// trace` prints these rows and the admin face's enrollments page draws them.
struct TimelineRow {
    const AuditEntry* entry = nullptr;  // into the trace it was made from
    bool linked = false;
    std::int64_t offset_ms = 0;         // from the first row
    std::int64_t duration_ms = -1;      // since the previous line of the same request; -1: the request's first line
    const FailureHint* hint = nullptr;  // for a failure
};

// The trace's steps and the requests before them, in time order.
std::vector<TimelineRow> timeline_of(const EnrollmentTrace& trace) noexcept;

// Recent failures, grouped by step and reason.
struct FailureGroup {
    std::string step, reason, fail_info;
    std::uint64_t count = 0;
    std::string first_time, last_time;
    std::vector<std::string> transaction_ids;  // the latest few
    std::string example_detail;                // the latest one's
    const FailureHint* hint = nullptr;
};

struct FailureReport {
    std::vector<FailureGroup> groups;  // most frequent first
    std::uint64_t failures = 0;
    TrailProblems problems;
};

FailureReport recent_failures(const std::string& current, std::int64_t since_ms) noexcept;

}  // namespace scepter
