// Finding enrollments by what an admin knows of a device: its name (the
// CSR's subject), its certificate's serial, or its address. One pass finds
// the transaction IDs, a second gathers their lines, matched by the raw
// transaction_id field against a set, so the second pass costs no more for
// a hundred enrollments than for one.
#include "audit/trail_scan.h"
#include "scepter/text.h"

#include <cctype>
#include <deque>
#include <map>
#include <unordered_set>

namespace scepter {
namespace {

// Upper case, no leading zeros: BN_bn2hex writes "0A1B", admins type "a1b".
std::string normal_serial(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (out.empty() && c == '0') continue;
        out += char(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

struct Matcher {
    const EnrollmentQuery& q;
    std::string needle;  // what every matching line contains
    std::string serial;  // normalised

    explicit Matcher(const EnrollmentQuery& query) : q(query) {
        serial = normal_serial(q.serial);
        if (!q.client_ip.empty()) needle = field_needle("client_ip", q.client_ip);
        else if (!q.subject.empty()) needle = json_escape(q.subject);
        else if (!serial.empty()) needle = serial;
        else needle = "\"operation\":\"PKIOperation\"";
    }

    bool matches(const AuditEntry& e) const {
        if (e.transaction_id.empty() || e.time_ms < q.since_ms) return false;
        if (!q.client_ip.empty() && (e.client_ip != q.client_ip || e.operation != "PKIOperation")) return false;
        if (!q.subject.empty() && e.field("subject").find(q.subject) == std::string::npos) return false;
        if (!serial.empty() && normal_serial(e.field("serial")) != serial) return false;
        const bool any = q.client_ip.empty() && q.subject.empty() && serial.empty();
        return !any || e.operation == "PKIOperation";  // no criterion: every enrollment
    }
};

}  // namespace

EnrollmentList find_enrollments(const std::string& current, const EnrollmentQuery& query, std::size_t limit) noexcept {
    EnrollmentList out;
    try {
        std::vector<TrailFile> files = trail_files(current);
        if (files.empty()) out.problems.errors.push_back(current + ": no such file");
        Matcher m(query);
        std::deque<std::string> newest;  // the last `limit` transaction IDs, in first-seen order
        std::unordered_set<std::string> seen;
        scan_trail(files, m.needle, out.problems, [&](const TrailLine& l) {
            auto e = parse_counted(l.text, out.problems);
            if (!e || !m.matches(*e) || !seen.insert(e->transaction_id).second) return true;
            ++out.matched;
            newest.push_back(e->transaction_id);
            if (limit > 0 && newest.size() > limit) newest.pop_front();
            return true;
        }, query.since_ms);
        if (newest.empty()) return out;
        // The raw field, JSON-escaped as written, keys the second pass.
        std::map<std::string, EnrollmentTrace, std::less<>> traces;
        for (const std::string& id : newest) {
            std::string raw = json_escape(id);
            traces[raw].transaction_id = id;
        }
        scan_trail(files, "\"transaction_id\":\"", out.problems, [&](const TrailLine& l) {
            auto it = traces.find(raw_field(l.text, "transaction_id"));
            if (it == traces.end()) return true;
            if (auto e = parse_counted(l.text, out.problems)) it->second.steps.push_back(std::move(*e));
            return true;
        }, query.since_ms);
        for (const std::string& id : newest) {
            const EnrollmentTrace& t = traces[json_escape(id)];
            if (!t.steps.empty()) out.enrollments.push_back(summarize(t));
        }
    } catch (const std::exception& e) {
        out.problems.errors.push_back(std::string("search stopped: ") + e.what());
    }
    return out;
}

}  // namespace scepter
