// The metrics location (`scepter_metrics;`, `SetHandler scepter-metrics`)
// and the one place every answered request is counted.
//
// The counters live in the block the web server shares (metrics/); this
// page renders them, with the gauges the store holds (pending requests, the
// CRL) read at scrape time: a count and one row, on nginx's thread pool,
// never on its event loop. Access is the admin faces' rule: the web server
// authenticates (auth_basic, client certificates, its address rules) and
// the core serves only what it authenticated, unless
// admin.allow_without_authentication.
#include "audit/audit_metrics.h"
#include "scepter/log_ids.h"
#include "service/service.h"

#include <ctime>

namespace scepter {
namespace {

metrics::Outcome outcome_of(const AuditContext& ctx, const Response& r) {
    if (ctx.pki_status == "SUCCESS") return metrics::out_success;
    if (ctx.pki_status == "FAILURE") return metrics::out_failure;
    if (ctx.pki_status == "PENDING") return metrics::out_pending;
    if (r.status >= 500) return metrics::out_error;
    if (r.status >= 400) return metrics::out_rejected;
    return metrics::out_success;
}

}  // namespace

void Service::count_request(const AuditContext& ctx, const Response& r,
                            std::chrono::steady_clock::time_point start) const noexcept {
    const metrics::Metrics& m = audit_.metrics();
    if (!m.attached()) return;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    // string_views: nothing here allocates, so nothing can throw.
    std::string_view operation = ctx.operation.empty() ? std::string_view("other") : std::string_view(ctx.operation);
    m.request(operation, ctx.message_type, ctx.profile, outcome_of(ctx, r), std::uint64_t(ns));
    count_log_lines(m, ctx.profile, r.logs);
}

Response Service::metrics_page(const Request& req, const AuditContext& ctx) {
    if (!admin_requester(req)) return refuse_unauthenticated(ctx);
    const metrics::Metrics& m = audit_.metrics();
    if (!m.attached()) {
        Response r = text_response(503, "the metrics are not available in this process\n");
        r.log(SCEPTER_LOG_ERROR, SCEPTER_ID_METRICS_UNAVAILABLE,
              "metrics requested, but the web server gave the core no shared memory for them");
        return r;
    }
    // The store's gauges when the worker has its store; the counters regardless.
    std::optional<metrics::StoreGauges> gauges;
    std::string why;
    if (worker_ready(why)) {
        try {
            metrics::StoreGauges g;
            g.pending_requests = store().count_pending();
            if (auto crl = store().latest_crl()) {
                g.crl_number = crl->number;
                g.crl_this_update = crl->this_update;
            }
            gauges = g;
        } catch (const std::exception& e) {
            // Counted by count_request through the line's ID, like any store error.
            Response r = text_response(200, m.render(nullptr, std::int64_t(std::time(nullptr))));
            r.content_type = "text/plain; version=0.0.4; charset=utf-8";
            r.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STORE_FAILED, std::string("metrics: the store's gauges cannot be read: ") + e.what());
            return r;
        }
    }
    Response r = text_response(200, m.render(gauges ? &*gauges : nullptr, std::int64_t(std::time(nullptr))));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
}

}  // namespace scepter
