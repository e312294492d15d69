// What the trail's questions (trace, find, failures) share: reading every
// file of the trail while only the lines that can matter are parsed. A line
// is parsed only when it contains a needle (memmem over the raw text), which
// keeps a search through a gigabyte of trail to the speed of reading it.
#pragma once

#include "scepter/audit_trail.h"

#include <string>
#include <string_view>

namespace scepter {

// Whether `line` contains `needle` (the raw JSON text, escaped as written).
bool line_has(std::string_view line, std::string_view needle) noexcept;

// The raw (still JSON-escaped) value of a string field, located without
// parsing: `"key":"` then up to the closing quote. Empty when absent. Safe
// because the writer escapes every quote inside values.
std::string_view raw_field(std::string_view line, std::string_view key) noexcept;

// `"key":"` + json_escape(value) + `"`: the exact text of a field.
std::string field_needle(std::string_view key, std::string_view value);

// Whether a file was last written before since_ms, so it holds nothing
// newer (the trail is only ever appended to; gzip keeps the original's
// time). False when it cannot tell: the reader then reports the file.
bool written_before(const TrailFile& file, std::int64_t since_ms) noexcept;

// Where to start reading a plain file for the lines at or after since_ms:
// a bisection over byte offsets, reading one line at each probe (the trail
// is appended to in time order; lines of several workers are at most a
// moment apart, which kLateMs covers). 0 for a gzip file, a small file, or
// when a probe finds no time.
std::uint64_t window_offset(const TrailFile& file, std::size_t index, std::int64_t since_ms) noexcept;

// Calls visit(line) for each line of each file that contains `needle` (all
// lines when it is empty); errors go to `problems`. visit returns false to
// stop reading that file.
// Files written before since_ms are not opened; a plain file is read from
// window_offset on.
void scan_trail(const std::vector<TrailFile>& files, std::string_view needle, TrailProblems& problems,
                const std::function<bool(const TrailLine&)>& visit, std::int64_t since_ms = 0);

// Parses a line that passed a quick filter; counts the ones that do not parse.
std::optional<AuditEntry> parse_counted(std::string_view line, TrailProblems& problems) noexcept;

}  // namespace scepter
