// The enrollments page of the admin face (`scepter_enrollments;`,
// `SetHandler scepter-enrollments`): recent enrollments with their outcome,
// and one enrollment's steps drawn as bars of their durations, the failing
// step marked with its hint. Plain HTML and CSS, no script, no external
// asset: it works in any browser, and behind any proxy.
//
// It reads the trail through audit_trail.h only, the very questions
// `scepter trace` asks (find_enrollments, trace_enrollment, timeline_of), so
// the page and the CLI cannot disagree. The work is bounded: only files
// written within the chosen window are read (24 hours unless ?since= says
// otherwise, at most 31 days), and at most kMaxRows enrollments are listed.
//
// Everything from the trail is a device's words (subjects, user agents,
// transaction IDs, details): all of it goes through html_escape, and a
// transaction ID in a link through url_encode first.
#include "codec/query_string.h"
#include "scepter/audit_trail.h"
#include "scepter/log_ids.h"
#include "service/service.h"
#include "util/html_text.h"

#include <algorithm>
#include <chrono>

namespace scepter {
namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";

constexpr std::size_t kMaxRows = 200;
// Failures only: how many recent enrollments are looked at to find them.
constexpr std::size_t kMaxScanned = 2000;
constexpr std::int64_t kDefaultWindowMs = 24LL * 3600 * 1000;
constexpr std::int64_t kMaxWindowMs = 31LL * 24 * 3600 * 1000;

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const char* kStyle =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left;"
    "vertical-align:top}th{background:#f3f3f3}"
    ".issued{color:#11661f}.failed{color:#b00020;font-weight:bold}.pending,.in-progress{color:#8a5a00}"
    ".bar{height:1em;background:#4a78c2;min-width:2px}.fail .bar{background:#b00020}"
    "tr.fail{background:#fdecee}.linked{color:#777}.hint{font-size:.9em;margin:.3em 0 0 0}"
    ".problems{color:#8a5a00}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}"
    "dt{font-weight:bold}dd{margin:0}";

std::string page(const std::string& title, const std::string& body) {
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
           "<meta name=\"robots\" content=\"noindex\"><title>" +
           html_escape(title) + "</title><style>" + kStyle + "</style></head><body>\n" + body + "</body></html>\n";
}

std::string css_class(const std::string& outcome) {
    return outcome == "in progress" ? "in-progress" : outcome;
}

// The window the admin asked for (?since=1h, 7d, ...), within bounds.
std::int64_t window_of(const std::map<std::string, std::string>& params, std::string& shown) {
    shown = "24h";
    auto it = params.find("since");
    if (it == params.end()) return kDefaultWindowMs;
    auto ms = parse_duration(it->second);
    if (!ms || *ms <= 0) return kDefaultWindowMs;
    shown = it->second;
    return std::min(*ms, kMaxWindowMs);
}

std::string problems_html(const TrailProblems& p, Response& r, const std::string& client) {
    if (p.errors.empty() && p.unreadable_lines == 0) return "";
    std::string out = "<div class=\"problems\"><p>Part of the audit trail could not be read:</p><ul>";
    for (const std::string& e : p.errors) out += "<li>" + html_escape(e) + "</li>";
    if (p.unreadable_lines > 0)
        out += "<li>" + std::to_string(p.unreadable_lines) + " line(s) that are not audit entries</li>";
    r.log(SCEPTER_LOG_WARN, SCEPTER_ID_ENROLLMENTS_TRAIL_UNREADABLE,
          "client " + client + ": the enrollments page could not read all of the audit trail: " +
              (p.errors.empty() ? std::to_string(p.unreadable_lines) + " unreadable line(s)" : p.errors.front()));
    return out + "</ul></div>\n";
}

std::string filter_form(bool failed_only, const std::string& since) {
    std::string out = "<form method=\"get\"><label><input type=\"checkbox\" name=\"failed\" value=\"1\"";
    if (failed_only) out += " checked";
    out += "> failures only</label> <label>within <select name=\"since\">";
    for (const char* w : {"1h", "6h", "24h", "7d", "31d"}) {
        out += std::string("<option") + (since == w ? " selected" : "") + ">" + w + "</option>";
    }
    return out + "</select></label> <button type=\"submit\">Show</button></form>\n";
}

// Transaction IDs are often 64 hex digits: the list shows their start (the
// link and its title carry the whole), so the table fits a screen.
std::string shortened(const std::string& id) {
    constexpr std::size_t kShown = 16;
    if (id.size() <= kShown + 1) return id;
    std::size_t cut = kShown;
    while (cut > 0 && (static_cast<unsigned char>(id[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 character
    return id.substr(0, cut) + "\xE2\x80\xA6";  // an ellipsis
}

std::string list_html(const std::vector<EnrollmentSummary>& rows, bool failed_only, const std::string& since) {
    std::string out = "<h1>Enrollments</h1>\n" + filter_form(failed_only, since);
    out += "<p>" + std::to_string(rows.size()) + (failed_only ? " failed" : "") + " enrollment(s) within " +
           html_escape(since) + ", newest first";
    if (rows.size() >= kMaxRows) out += " (the newest " + std::to_string(kMaxRows) + ")";
    out += ".</p>\n";
    if (rows.empty()) return out;
    out += "<table><thead><tr><th>time</th><th>outcome</th><th>subject</th><th>client OS</th><th>client</th>"
           "<th>profile</th><th>failed step</th><th>transaction</th></tr></thead><tbody>\n";
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
        const EnrollmentSummary& s = *it;
        out += "<tr><td>" + html_escape(s.last_time) + "</td><td class=\"" + css_class(s.outcome) + "\">" +
               html_escape(s.outcome) + "</td><td>" + html_escape(s.subject) + "</td><td>" +
               html_escape(s.client_os) + "</td><td>" + html_escape(s.client_ip) + "</td><td>" +
               html_escape(s.profile) + "</td><td>" + html_escape(s.failed_step) + "</td><td><a href=\"" +
               html_escape("?tx=" + url_encode(s.transaction_id) + "&since=" + url_encode(since)) + "\" title=\"" +
               html_escape(s.transaction_id) + "\">" + html_escape(shortened(s.transaction_id)) + "</a></td></tr>\n";
    }
    return out + "</tbody></table>\n";
}

std::string duration_text(std::int64_t ms) { return ms < 0 ? "" : std::to_string(ms) + " ms"; }

// The steps as a table whose last column is a bar as wide as the step took,
// relative to the slowest step; the failing step in red with its hint.
std::string timeline_html(const std::vector<TimelineRow>& rows) {
    std::int64_t longest = 1;
    for (const TimelineRow& r : rows) longest = std::max(longest, r.duration_ms);
    std::string out = "<h2>Steps</h2>\n<table class=\"timeline\"><thead><tr><th>at</th><th>step</th>"
                      "<th>outcome</th><th>took</th><th style=\"width:40%\">duration</th></tr></thead><tbody>\n";
    for (const TimelineRow& r : rows) {
        const AuditEntry& e = *r.entry;
        const bool failed = is_failure(e);
        std::string cls = failed ? "fail" : (r.linked ? "linked" : "");
        out += "<tr" + (cls.empty() ? std::string() : " class=\"" + cls + "\"") + "><td>+" +
               std::to_string(r.offset_ms) + " ms</td><td>" + html_escape(r.linked ? e.operation : e.step);
        if (r.linked) out += " <small>(same client, before)</small>";
        out += "</td><td>" + (failed ? std::string("<b>failed</b>") : html_escape(e.outcome)) + "</td><td>" +
               duration_text(r.duration_ms) + "</td><td>";
        if (r.duration_ms >= 0) {
            int percent = int(std::max<std::int64_t>(1, r.duration_ms * 100 / longest));
            out += "<div class=\"bar\" style=\"width:" + std::to_string(percent) + "%\" title=\"" +
                   duration_text(r.duration_ms) + "\"></div>";
        }
        if (failed) {
            out += "<p class=\"hint\">" + html_escape(e.detail) + "</p>";
            if (r.hint != nullptr)
                out += "<p class=\"hint\"><b>Hint (" + html_escape(r.hint->key) + "):</b> " +
                       html_escape(r.hint->cause) + "<br><b>Check:</b> " + html_escape(r.hint->check) + "</p>";
        }
        out += "</td></tr>\n";
    }
    return out + "</tbody></table>\n";
}

std::string summary_html(const EnrollmentSummary& s, const EnrollmentTrace& t) {
    std::string ua;
    for (const AuditEntry& e : t.steps)
        if (!e.user_agent.empty()) {
            ua = e.user_agent;
            break;
        }
    auto row = [](const char* k, const std::string& v) {
        return v.empty() ? std::string() : std::string("<dt>") + k + "</dt><dd>" + html_escape(v) + "</dd>";
    };
    return "<dl>" + std::string("<dt>outcome</dt><dd class=\"") + css_class(s.outcome) + "\">" +
           html_escape(s.outcome) + "</dd>" + row("failed step", s.failed_step) + row("subject", s.subject) +
           row("serial", s.serial) + row("profile", s.profile) + row("template", s.template_name) +
           row("message type", s.message_type) + row("client", s.client_ip) + row("client OS", s.client_os) +
           row("user agent", ua) + row("first seen", s.first_time) + row("last seen", s.last_time) + "</dl>\n";
}

}  // namespace

Response Service::enrollments_page(const Request& req, AuditContext& ctx) {
    auto requester = admin_requester(req);
    if (!requester) return refuse_unauthenticated(ctx);
    if (req.method != "GET" && req.method != "HEAD") {
        Response r = text_response(405, "the enrollments page is read with GET\n");
        r.log(SCEPTER_LOG_WARN, SCEPTER_ID_BAD_HTTP_REQUEST, "client " + ctx.client_ip + ": method " +
                                                                 (req.method.size() <= 16 ? req.method : "?") +
                                                                 " on the enrollments page");
        return r;
    }
    if (cfg_.audit_log.empty())
        return typed_response(200, kHtml, page("Enrollments", "<h1>Enrollments</h1><p>No audit_log is configured: the audit "
                                                      "lines go to the web server's error log, which this page "
                                                      "does not read.</p>"));
    auto params = parse_query(req.query);
    std::string since;
    const std::int64_t since_ms = now_ms() - window_of(params, since);
    Response r;
    auto tx = params.find("tx");
    if (tx != params.end() && !tx->second.empty()) {
        EnrollmentTrace t = trace_enrollment(cfg_.audit_log, tx->second, since_ms);
        EnrollmentSummary s = summarize(t);
        std::string back = "<p><a href=\"" + html_escape("?since=" + url_encode(since)) + "\">All enrollments</a></p>\n";
        std::string problems = problems_html(t.problems, r, ctx.client_ip);
        // A location bound to a profile shows that profile's enrollments only.
        if (t.steps.empty() || (!req.profile.empty() && s.profile != req.profile)) {
            Response nf = typed_response(404, kHtml, page("Enrollment not found", back + problems +
                                                  "<h1>Enrollment not found</h1><p>No transaction " +
                                                  html_escape(tx->second) + " within " + html_escape(since) + ".</p>"));
            nf.logs = std::move(r.logs);
            return nf;
        }
        std::vector<TimelineRow> rows = timeline_of(t);
        Response ok = typed_response(200, kHtml, page("Enrollment " + t.transaction_id,
                                              back + problems + "<h1>Enrollment " + html_escape(t.transaction_id) +
                                                  "</h1>\n" + summary_html(s, t) + timeline_html(rows)));
        ok.logs = std::move(r.logs);
        return ok;
    }
    const bool failed_only = params.count("failed") && params["failed"] == "1";
    EnrollmentQuery q;
    q.since_ms = since_ms;
    EnrollmentList list = find_enrollments(cfg_.audit_log, q, failed_only ? kMaxScanned : kMaxRows * 2);
    std::vector<EnrollmentSummary> shown;
    for (EnrollmentSummary& s : list.enrollments) {
        if (!req.profile.empty() && s.profile != req.profile) continue;
        if (failed_only && s.outcome != "failed") continue;
        shown.push_back(std::move(s));
    }
    if (shown.size() > kMaxRows) shown.erase(shown.begin(), shown.end() - kMaxRows);
    std::string problems = problems_html(list.problems, r, ctx.client_ip);
    Response ok = typed_response(200, kHtml, page("Enrollments", problems + list_html(shown, failed_only, since)));
    ok.logs = std::move(r.logs);
    return ok;
}

}  // namespace scepter
