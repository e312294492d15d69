// One enrollment from the trail: every line of its transaction ID, and the
// GetCACaps/GetCACert the same client sent just before (NDES admins match
// those by hand in IIS logs; the seed's steps 5-7).
#include "audit/trail_scan.h"

#include <limits>

namespace scepter {
namespace {

bool is_ca_request(const AuditEntry& e) {
    return e.operation == "GetCACaps" || e.operation == "GetCACert" || e.operation == "GetNextCACert";
}

// A device's GETs and its PKIOperation come from one address; behind NAT
// the User-Agent tells devices apart where the client sends one.
bool same_client(const AuditEntry& a, const AuditEntry& b) {
    if (a.client_ip != b.client_ip) return false;
    return a.user_agent.empty() || b.user_agent.empty() || a.user_agent == b.user_agent;
}

// Where the first PKIOperation line of the enrollment was read.
struct Anchor {
    const AuditEntry* entry = nullptr;
    std::size_t file = 0;
    std::uint64_t offset = 0;
};

// Every kCheckpointBytes of a file, the time of the line there: the first
// pass notes them (one time parsed per 4 MiB), so that the requests before
// the enrollment are looked for from just before its window, not from the
// start of a large file.
constexpr std::uint64_t kCheckpointBytes = 4 << 20;
struct Checkpoint {
    std::uint64_t offset = 0;
    std::int64_t time_ms = 0;
};
using Checkpoints = std::vector<std::vector<Checkpoint>>;  // per file

// Where in the anchor's file to start: the last checkpoint before the window.
std::uint64_t window_start(const std::vector<Checkpoint>& marks, std::int64_t from, std::uint64_t before) {
    std::uint64_t start = 0;
    for (const Checkpoint& c : marks)
        if (c.time_ms < from && c.offset < before) start = c.offset;
    return start;
}

// The requests of the anchor's client in the window before it, read up to
// the anchor (and from the file before, when the anchor's file starts
// inside the window). A PKIOperation of another transaction from the same
// client ends the window: the GETs before it were that enrollment's.
std::vector<AuditEntry> preceding_requests(const std::vector<TrailFile>& files, const Checkpoints& marks,
                                           const Anchor& a, TrailProblems& problems) {
    const AuditEntry& first = *a.entry;
    const std::int64_t from = first.time_ms - kPrecedingWindowMs;
    const std::vector<Checkpoint>& here = marks[a.file];
    std::size_t start_file = a.file;
    if (a.file > 0 && (here.empty() || here.front().time_ms > from)) start_file = a.file - 1;
    std::vector<AuditEntry> found;
    const std::string needle = field_needle("client_ip", first.client_ip);
    for (std::size_t i = start_file; i <= a.file; ++i) {
        const bool anchor_file = i == a.file;
        const std::uint64_t stop = anchor_file ? a.offset : std::numeric_limits<std::uint64_t>::max();
        std::string error = read_trail_file(
            files[i], i,
            [&](const TrailLine& l) {
                if (l.offset >= stop) return false;
                if (!line_has(l.text, needle)) return true;
                auto e = parse_counted(l.text, problems);
                if (!e || e->time_ms < from || e->time_ms > first.time_ms || !same_client(*e, first)) return true;
                if (is_ca_request(*e)) found.push_back(std::move(*e));
                else if (e->operation == "PKIOperation" && e->transaction_id != first.transaction_id) found.clear();
                return true;
            },
            anchor_file ? window_start(here, from, a.offset) : 0);
        if (!error.empty()) problems.errors.push_back(std::move(error));
    }
    return found;
}

const std::string& first_of(const EnrollmentTrace& t, const char* key) {
    for (const AuditEntry& e : t.steps)
        if (!e.field(key).empty()) return e.field(key);
    static const std::string none;
    return none;
}

}  // namespace

EnrollmentTrace trace_enrollment(const std::string& current, const std::string& transaction_id,
                                 std::int64_t since_ms) noexcept {
    EnrollmentTrace t;
    try {
        t.transaction_id = transaction_id;
        if (transaction_id.empty()) return t;
        std::vector<TrailFile> files = trail_files(current);
        if (files.empty()) t.problems.errors.push_back(current + ": no such file");
        Anchor anchor;
        std::vector<std::pair<std::size_t, std::uint64_t>> where;  // of each step
        Checkpoints marks(files.size());
        const std::string needle = field_needle("transaction_id", transaction_id);
        for (std::size_t i = 0; i < files.size(); ++i) {
            if (written_before(files[i], since_ms)) continue;
            std::uint64_t next_mark = 0;
            std::string error = read_trail_file(files[i], i, [&](const TrailLine& l) {
                if (l.offset >= next_mark) {
                    if (auto ms = parse_audit_time(raw_field(l.text, "time"))) {
                        marks[i].push_back({l.offset, *ms});
                        next_mark = l.offset + kCheckpointBytes;
                    }
                }
                if (!line_has(l.text, needle)) return true;
                if (auto e = parse_counted(l.text, t.problems)) {
                    t.steps.push_back(std::move(*e));
                    where.emplace_back(l.file, l.offset);
                }
                return true;
            });
            if (!error.empty()) t.problems.errors.push_back(std::move(error));
        }
        for (std::size_t i = 0; i < t.steps.size(); ++i) {
            if (t.steps[i].operation != "PKIOperation") continue;
            anchor = {&t.steps[i], where[i].first, where[i].second};
            break;
        }
        if (anchor.entry != nullptr) t.preceding = preceding_requests(files, marks, anchor, t.problems);
    } catch (const std::exception& e) {
        t.problems.errors.push_back(std::string("tracing stopped: ") + e.what());
    }
    return t;
}

EnrollmentSummary summarize(const EnrollmentTrace& t) noexcept {
    EnrollmentSummary s;
    try {
        s.transaction_id = t.transaction_id;
        if (t.steps.empty()) return s;
        const AuditEntry* request = &t.steps.front();
        for (const AuditEntry& e : t.steps)
            if (e.operation == "PKIOperation") {
                request = &e;
                break;
            }
        s.first_time = t.steps.front().time;
        s.last_time = t.steps.back().time;
        s.profile = request->profile;
        s.message_type = request->message_type;
        s.client_ip = request->client_ip;
        s.client_os = request->client_os;
        s.subject = first_of(t, "subject");
        s.serial = first_of(t, "serial");
        for (const AuditEntry& e : t.steps)  // the last word on the template wins (policy, then issuance)
            if (!e.field("template").empty()) s.template_name = e.field("template");
        s.outcome = "in progress";
        for (const AuditEntry& e : t.steps) {
            if (is_failure(e)) {
                s.outcome = "failed";
                s.failed_step = e.step;
                s.detail = e.detail;
            } else if (e.step == "response_sent") {
                const std::string& status = e.field("pki_status");
                if (status == "SUCCESS") s.outcome = "issued";
                else if (status == "PENDING") s.outcome = "pending";
                else if (status == "FAILURE" && s.outcome != "failed") s.outcome = "failed";
                if (status != "FAILURE") {  // a later poll or a re-sent request got on
                    s.failed_step.clear();
                    s.detail.clear();
                }
            }
        }
    } catch (const std::exception&) {
        // out of memory copying strings: what was filled in stays
    }
    return s;
}

}  // namespace scepter
