// `scepter trace --json`: the same answers as the text, for scripts. One
// JSON document on stdout; field names are stable.
#include "scepter/text.h"
#include "trace_output.h"

#include <iostream>

namespace scepter::cli {
namespace {

// A JSON object written one member at a time.
class Obj {
   public:
    Obj& str(const char* key, const std::string& v) { return raw(key, json_quote(v)); }
    Obj& num(const char* key, std::int64_t v) { return raw(key, std::to_string(v)); }
    Obj& raw(const char* key, const std::string& json) {
        out_ += (out_.size() > 1 ? "," : "") + json_quote(key) + ":" + json;
        return *this;
    }
    std::string done() const { return out_ + "}"; }

   private:
    std::string out_ = "{";
};

std::string array(const std::vector<std::string>& items) {
    std::string out = "[";
    for (const auto& i : items) out += (out.size() > 1 ? "," : "") + i;
    return out + "]";
}

std::string strings(const std::vector<std::string>& items) {
    std::vector<std::string> quoted;
    for (const auto& i : items) quoted.push_back(json_quote(i));
    return array(quoted);
}

std::string hint_json(const FailureHint* h) {
    if (h == nullptr) return "null";
    return Obj().str("key", h->key).str("cause", h->cause).str("check", h->check).done();
}

std::string entry_json(const AuditEntry& e) {
    Obj fields;
    for (const auto& [k, v] : e.extra) fields.str(k.c_str(), v);
    return Obj()
        .str("time", e.time)
        .str("id", e.id)
        .str("step", e.step)
        .str("outcome", e.outcome)
        .str("operation", e.operation)
        .str("client_ip", e.client_ip)
        .str("user_agent", e.user_agent)
        .str("client_os", e.client_os)
        .str("detail", e.detail)
        .raw("fields", fields.done())
        .done();
}

std::string summary_json(const EnrollmentSummary& s) {
    return Obj()
        .str("transaction_id", s.transaction_id)
        .str("first_time", s.first_time)
        .str("last_time", s.last_time)
        .str("profile", s.profile)
        .str("message_type", s.message_type)
        .str("client_ip", s.client_ip)
        .str("client_os", s.client_os)
        .str("subject", s.subject)
        .str("template", s.template_name)
        .str("serial", s.serial)
        .str("outcome", s.outcome)
        .str("failed_step", s.failed_step)
        .str("detail", s.detail)
        .done();
}

std::string problems_json(const TrailProblems& p) {
    return Obj().raw("errors", strings(p.errors)).num("unreadable_lines", std::int64_t(p.unreadable_lines)).done();
}

}  // namespace

void print_trace_json(const EnrollmentTrace& trace, const EnrollmentSummary& s, const std::vector<TimelineRow>& rows) {
    std::vector<std::string> timeline;
    for (const TimelineRow& r : rows) {
        timeline.push_back(Obj()
                               .num("offset_ms", r.offset_ms)
                               .raw("duration_ms", r.duration_ms < 0 ? "null" : std::to_string(r.duration_ms))
                               .raw("linked", r.linked ? "true" : "false")
                               .raw("failure", is_failure(*r.entry) ? "true" : "false")
                               .raw("entry", entry_json(*r.entry))
                               .raw("hint", hint_json(r.hint))
                               .done());
    }
    std::cout << Obj()
                     .raw("summary", summary_json(s))
                     .raw("timeline", array(timeline))
                     .raw("problems", problems_json(trace.problems))
                     .done()
              << "\n";
}

void print_list_json(const EnrollmentList& list) {
    std::vector<std::string> items;
    for (const EnrollmentSummary& s : list.enrollments) items.push_back(summary_json(s));
    std::cout << Obj()
                     .num("matched", std::int64_t(list.matched))
                     .raw("enrollments", array(items))
                     .raw("problems", problems_json(list.problems))
                     .done()
              << "\n";
}

void print_failures_json(const FailureReport& report, const std::string& since) {
    std::vector<std::string> groups;
    for (const FailureGroup& g : report.groups) {
        groups.push_back(Obj()
                             .str("step", g.step)
                             .str("reason", g.reason)
                             .str("fail_info", g.fail_info)
                             .num("count", std::int64_t(g.count))
                             .str("first_time", g.first_time)
                             .str("last_time", g.last_time)
                             .raw("transaction_ids", strings(g.transaction_ids))
                             .str("example_detail", g.example_detail)
                             .raw("hint", hint_json(g.hint))
                             .done());
    }
    std::cout << Obj()
                     .str("since", since)
                     .num("failures", std::int64_t(report.failures))
                     .raw("groups", array(groups))
                     .raw("problems", problems_json(report.problems))
                     .done()
              << "\n";
}

}  // namespace scepter::cli
