#include "audit/trail_scan.h"

#include "scepter/text.h"

#include <sys/stat.h>

#include <cstring>

namespace scepter {

bool line_has(std::string_view line, std::string_view needle) noexcept {
    if (needle.empty()) return true;
    return memmem(line.data(), line.size(), needle.data(), needle.size()) != nullptr;
}

std::string_view raw_field(std::string_view line, std::string_view key) noexcept {
    // "key":" is at most 64 bytes for every key the writer uses.
    char pattern[80];
    if (key.size() + 4 > sizeof pattern) return {};
    std::size_t n = 0;
    pattern[n++] = '"';
    std::memcpy(pattern + n, key.data(), key.size());
    n += key.size();
    std::memcpy(pattern + n, "\":\"", 3);
    n += 3;
    const void* at = memmem(line.data(), line.size(), pattern, n);
    if (at == nullptr) return {};
    std::size_t start = static_cast<const char*>(at) - line.data() + n;
    std::size_t end = start;
    while (end < line.size() && line[end] != '"') end += line[end] == '\\' ? 2 : 1;
    if (end > line.size()) end = line.size();
    return line.substr(start, end - start);
}

std::string field_needle(std::string_view key, std::string_view value) {
    return "\"" + std::string(key) + "\":\"" + json_escape(value) + "\"";
}

bool written_before(const TrailFile& f, std::int64_t since_ms) noexcept {
    if (since_ms <= 0) return false;
    struct stat st {};
    if (stat(f.path.c_str(), &st) != 0) return false;
    return std::int64_t(st.st_mtime) * 1000 + 999 < since_ms;
}

namespace {

constexpr std::int64_t kLateMs = 60 * 1000;        // how far out of order a line may be written
constexpr std::uint64_t kBisectUntil = 256 << 10;  // stop narrowing below this many bytes

}  // namespace

std::uint64_t window_offset(const TrailFile& f, std::size_t index, std::int64_t since_ms) noexcept {
    struct stat st {};
    if (f.gzip || since_ms <= 0 || stat(f.path.c_str(), &st) != 0) return 0;
    const std::int64_t target = since_ms - kLateMs;
    std::uint64_t lo = 0, hi = std::uint64_t(st.st_size);
    // Invariant: the line at or after lo is older than target (or lo is 0).
    while (hi - lo > kBisectUntil) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        std::optional<std::int64_t> at;
        bool seen = false;
        std::string error = read_trail_file(f, index, [&](const TrailLine& l) {
            at = parse_audit_time(raw_field(l.text, "time"));
            seen = true;
            return false;  // one line is enough
        }, mid);
        if (!error.empty()) return 0;
        if (!seen) {
            hi = mid;  // no line begins after mid
            continue;
        }
        if (!at) return lo;  // not an audit line: read from what is known
        if (*at < target) lo = mid;
        else hi = mid;
    }
    return lo;
}

void scan_trail(const std::vector<TrailFile>& files, std::string_view needle, TrailProblems& problems,
                const std::function<bool(const TrailLine&)>& visit, std::int64_t since_ms) {
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (written_before(files[i], since_ms)) continue;
        std::string error = read_trail_file(files[i], i, [&](const TrailLine& line) {
            return !line_has(line.text, needle) || visit(line);
        }, window_offset(files[i], i, since_ms));
        if (!error.empty()) problems.errors.push_back(std::move(error));
    }
}

std::optional<AuditEntry> parse_counted(std::string_view line, TrailProblems& problems) noexcept {
    auto e = parse_audit_entry(line);
    if (!e) ++problems.unreadable_lines;
    return e;
}

}  // namespace scepter
