// The Prometheus text exposition format, version 0.0.4: a HELP and a TYPE
// line per family, then its series. Counters end in _total; histograms give
// cumulative _bucket series up to le="+Inf", _sum and _count. Series that
// never counted are left out, as client libraries do for labelled counters;
// families are always announced, so a scrape shows what exists.
#include "metrics/metrics.h"

#include <cstdio>

namespace scepter::metrics {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

struct Label {
    const char* name;
    std::string_view value;
};

// Label values escape backslash, double quote and line feed.
void append_value(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

void append_labels(std::string& out, std::initializer_list<Label> labels, const char* le = nullptr) {
    if (labels.size() == 0 && le == nullptr) return;
    out += '{';
    bool first = true;
    for (const Label& l : labels) {
        if (!first) out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        append_value(out, l.value);
        out += '"';
    }
    if (le != nullptr) {
        if (!first) out += ',';
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, const char* name, std::initializer_list<Label> labels, std::uint64_t value) {
    out += name;
    append_labels(out, labels);
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

void sample_signed(std::string& out, const char* name, std::int64_t value) {
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

std::string bound_text(double bound) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", bound);
    return buf;
}

// One histogram series. _count is the sum of the buckets, so it always
// equals the +Inf bucket even while other workers are counting.
void histogram(std::string& out, const std::string& name, std::initializer_list<Label> labels, const Histogram& h) {
    std::uint64_t counts[kBuckets + 1];
    std::uint64_t total = 0;
    for (int i = 0; i <= kBuckets; ++i) total += counts[i] = h.buckets[i].load(relaxed);
    if (total == 0) return;
    const std::string bucket = name + "_bucket";
    std::uint64_t cumulative = 0;
    for (int i = 0; i <= kBuckets; ++i) {
        cumulative += counts[i];
        out += bucket;
        append_labels(out, labels, i < kBuckets ? bound_text(kBucketBounds[i]).c_str() : "+Inf");
        out += ' ' + std::to_string(cumulative) + '\n';
    }
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.9f", double(h.sum_ns.load(relaxed)) / 1e9);
    out += name + "_sum";
    append_labels(out, labels);
    out += ' ';
    out += sum;
    out += '\n';
    out += name + "_count";
    append_labels(out, labels);
    out += ' ' + std::to_string(total) + '\n';
}

template <typename F>
void each_slot(const LabelSlot* table, int n, F f) {
    for (int i = 0; i < n; ++i) {
        std::string_view name = slot_name(table[i]);
        if (!name.empty()) f(i, name);
    }
}

void requests(std::string& out, const Block& b) {
    const char* n = "scepter_requests_total";
    family(out, n, "counter", "Requests answered, by operation, SCEP message type, profile and outcome.");
    for (int op = 0; op < kOperations; ++op)
        for (int mt = 0; mt < kMessageTypes; ++mt)
            each_slot(b.profiles, kProfiles, [&](int p, std::string_view profile) {
                for (int o = 0; o < kOutcomes; ++o)
                    if (auto v = b.requests[op][mt][p][o].load(relaxed))
                        sample(out, n, {{"operation", kOperationNames[op]}, {"message_type", kMessageTypeNames[mt]},
                                        {"profile", profile}, {"outcome", kOutcomeNames[o]}}, v);
            });
    const char* d = "scepter_request_duration_seconds";
    family(out, d, "histogram", "Time from a request's arrival in the core to its answer, by operation.");
    for (int op = 0; op < kOperations; ++op) histogram(out, d, {{"operation", kOperationNames[op]}}, b.request_seconds[op]);
}

void steps(std::string& out, const Block& b) {
    const char* f = "scepter_failures_total";
    family(out, f, "counter", "Failed steps, by step and reason (failInfo or code, as scepter trace --failed groups them).");
    each_slot(b.steps, kSteps, [&](int s, std::string_view step) {
        each_slot(b.reasons, kReasons, [&](int r, std::string_view reason) {
            if (auto v = b.failures[s][r].load(relaxed)) sample(out, f, {{"step", step}, {"reason", reason}}, v);
        });
    });
    const char* d = "scepter_step_duration_seconds";
    family(out, d, "histogram", "Time each enrollment step took, by step.");
    each_slot(b.steps, kSteps, [&](int s, std::string_view step) { histogram(out, d, {{"step", step}}, b.step_seconds[s]); });
}

// A counter per profile, leaving out profiles that never counted.
void per_profile(std::string& out, const Block& b, const char* name, const char* help, const Counter (&counts)[kProfiles]) {
    family(out, name, "counter", help);
    each_slot(b.profiles, kProfiles, [&](int p, std::string_view profile) {
        if (auto v = counts[p].load(relaxed)) sample(out, name, {{"profile", profile}}, v);
    });
}

void challenges_and_certificates(std::string& out, const Block& b) {
    const char* c = "scepter_challenges_total";
    family(out, c, "counter", "One-time challenges issued, consumed, presented after expiry, and refused by the quota.");
    each_slot(b.profiles, kProfiles, [&](int p, std::string_view profile) {
        for (int e = 0; e < kChallengeEvents; ++e)
            if (auto v = b.challenges[p][e].load(relaxed))
                sample(out, c, {{"profile", profile}, {"event", kChallengeEventNames[e]}}, v);
    });
    per_profile(out, b, "scepter_certificates_issued_total", "Certificates issued.", b.certificates_issued);
    per_profile(out, b, "scepter_certificates_revoked_total", "Certificates revoked by the server (renewal, failed notification).",
                b.certificates_revoked);
}

void integrations(std::string& out, const Block& b) {
    const char* c = "scepter_validation_calls_total";
    family(out, c, "counter", "Calls to the validation service, by call and outcome.");
    for (int call = 0; call < kValidationCalls; ++call)
        for (int ok = 0; ok < 2; ++ok)
            if (auto v = b.validation_calls[call][ok].load(relaxed))
                sample(out, c, {{"call", kValidationCallNames[call]}, {"outcome", ok ? "ok" : "failed"}}, v);
    const char* d = "scepter_validation_duration_seconds";
    family(out, d, "histogram", "Time the validation service took, by call.");
    for (int call = 0; call < kValidationCalls; ++call)
        histogram(out, d, {{"call", kValidationCallNames[call]}}, b.validation_seconds[call]);
    per_profile(out, b, "scepter_policy_errors_total", "Lua policies that failed (error, instruction, memory or time limit).",
                b.policy_errors);
    const char* s = "scepter_store_errors_total";
    family(out, s, "counter", "Requests the store could not serve (read-only, full, gone, locked).");
    sample(out, s, {}, b.store_errors.load(relaxed));
}

void store_gauges(std::string& out, const StoreGauges& g, std::int64_t now) {
    family(out, "scepter_pending_requests", "gauge", "Requests waiting for an administrator's decision.");
    sample_signed(out, "scepter_pending_requests", g.pending_requests);
    if (!g.crl_number) return;
    family(out, "scepter_crl_number", "gauge", "The number of the current CRL.");
    sample_signed(out, "scepter_crl_number", *g.crl_number);
    family(out, "scepter_crl_age_seconds", "gauge", "Seconds since the current CRL's thisUpdate.");
    sample_signed(out, "scepter_crl_age_seconds", now - g.crl_this_update.value_or(now));
}

}  // namespace

std::string render_block(const Block& b, const StoreGauges* gauges, std::int64_t now) {
    std::string out;
    out.reserve(16384);
    requests(out, b);
    steps(out, b);
    challenges_and_certificates(out, b);
    integrations(out, b);
    if (gauges) store_gauges(out, *gauges, now);
    family(out, "scepter_metrics_start_time_seconds", "gauge", "When these counts began (first start; reloads keep them).");
    sample(out, "scepter_metrics_start_time_seconds", {}, b.started_at.load(relaxed));
    return out;
}

}  // namespace scepter::metrics
