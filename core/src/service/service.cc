// Request dispatch and the cheap operations (GetCACaps, GetCACert), answered
// from bytes computed once per configuration generation.
#include "service/service.h"

#include "ca/crl.h"
#include "ca/expiry_notice.h"
#include "codec/query_string.h"
#include "config/config_paths.h"
#include "scepter/log_ids.h"
#include "scepter/text.h"

#include <chrono>
#include <ctime>

namespace scepter {

std::string capabilities_of(const Profile& p, bool next_ca) {
    // One keyword per line, LF (RFC 8894 §3.5.2). SCEPStandard promises AES,
    // POSTPKIOperation and SHA-256, so it is listed only when all hold.
    bool aes = p.ciphers.count(ContentCipher::aes128) || p.ciphers.count(ContentCipher::aes192) ||
               p.ciphers.count(ContentCipher::aes256);
    std::string caps = "POSTPKIOperation\n";
    if (next_ca) caps += "GetNextCACert\n";
    if (p.renewal.enabled) caps += "Renewal\n";
    if (aes) caps += "AES\n";
    if (p.ciphers.count(ContentCipher::des3)) caps += "DES3\n";
    if (p.digests.count(Digest::sha1)) caps += "SHA-1\n";
    if (p.digests.count(Digest::sha256)) caps += "SHA-256\n";
    if (p.digests.count(Digest::sha512)) caps += "SHA-512\n";
    if (aes && p.ciphers.count(ContentCipher::aes128) && p.digests.count(Digest::sha256)) caps += "SCEPStandard\n";
    return caps;
}

// Policies compile here, at configuration time, so a syntax error stops
// `nginx -t`; their Lua states are made later, per thread, after fork.
Service::Service(Config cfg, CaMaterial ca)
    : cfg_(std::move(cfg)),
      ca_(std::move(ca)),
      audit_(cfg_.audit_log),
      get_sampler_(cfg_.audit_get_requests),
      load_warnings_(expiry_warnings(ca_, std::int64_t(std::time(nullptr)))),
      ra_keys_ready_(!cfg_.ra_signing_token && !cfg_.ra_encryption_token) {
    for (const auto& [name, profile] : cfg_.profiles) {
        caps_[name] = capabilities_of(profile, bool(cfg_.next_ca));
        ProfileHooks& hooks = hooks_[name];
        if (!profile.policy_path.empty()) hooks.policy = PolicyEngine::compile(profile.policy_path, profile.policy_limits);
    }
    ocsp_ = std::make_unique<OcspResponder>(cfg_, ca_);
}

std::unique_ptr<Service> Service::load(const std::string& path) {
    Config cfg = load_config(path);
    // As the current user; a connector that knows the workers' user checks
    // for it too (check_worker_user), and each worker checks as itself.
    check_worker_paths(cfg, current_path_user());
    try {
        if (!cfg.uses_postgresql()) check_store_not_lost(cfg.sqlite_path);
    } catch (const StoreError& e) {
        throw ConfigError(cfg.path, cfg.line_of("store.sqlite"), "store.sqlite", e.what());
    }
    CaMaterial ca = load_ca_material(cfg);
    try {
        return std::unique_ptr<Service>(new Service(std::move(cfg), std::move(ca)));
    } catch (const ConfigError&) {
        throw;
    } catch (const std::runtime_error& e) {
        throw ConfigError(path, 0, "audit_log", e.what());
    }
}

namespace {

Response internal_error(const std::string& why) {
    Response r = text_response(500, "internal error\n");
    r.log(SCEPTER_LOG_ERROR, SCEPTER_ID_INTERNAL_ERROR, "request failed: " + why);
    return r;
}

// A store that cannot be written (read-only, full, gone) is the operator's
// to fix; the client may retry later. Enrollment answers it with a CertRep
// FAILURE itself; what has no CertRep (the CRL, the admin faces) gets 503.
Response store_unavailable(const StoreError& e) {
    Response r = text_response(503, "the certificate store is unavailable; try again later\n");
    r.log(SCEPTER_LOG_ERROR, SCEPTER_ID_STORE_FAILED, std::string("request refused (HTTP 503): the store cannot be used: ") + e.what());
    return r;
}

Response answer_exception(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const StoreError& e) {
        return e.unavailable() ? store_unavailable(e) : internal_error(e.what());
    } catch (const std::exception& e) {
        return internal_error(e.what());
    } catch (...) {
        return internal_error("an unknown exception");
    }
}

}  // namespace

Response request_failed(std::exception_ptr error, std::vector<LogLine> earlier) {
    Response r = answer_exception(error);
    // What the request logged before it failed comes first, as it happened.
    earlier.insert(earlier.end(), std::make_move_iterator(r.logs.begin()), std::make_move_iterator(r.logs.end()));
    r.logs = std::move(earlier);
    return r;
}

std::optional<Response> Service::handle(const Request& req, bool allow_blocking) noexcept {
    const auto start = std::chrono::steady_clock::now();
    AuditContext ctx;
    std::optional<Response> r;
    try {
        r = dispatch(req, allow_blocking, ctx);
    } catch (...) {
        r = request_failed(std::current_exception(), {});
    }
    // Counted once, by the call that answers (nginx's first, non-blocking
    // call may only defer the request).
    if (r) count_request(ctx, *r, start);
    return r;
}

namespace {

// The operation as the answer and the log line may name it: one of ours, or
// nothing of what the client sent (which may be kilobytes long).
std::string operation_name(const std::string& op) {
    for (const char* known : {"GetCACaps", "GetCACert", "GetNextCACert", "PKIOperation"})
        if (op == known) return op;
    return "an unknown operation";
}

Response bad_request(int status, const std::string& why, const AuditContext& ctx) {
    Response r = text_response(status, why + "\n");
    const char* id = status == 413 ? SCEPTER_ID_BODY_TOO_LARGE : SCEPTER_ID_BAD_HTTP_REQUEST;
    r.log(SCEPTER_LOG_WARN, id, "client " + ctx.client_ip + ": " + why);
    return r;
}

// The PKIOperation message, from the POST body or the GET `message` parameter.
// Returns an HTTP error response when there is none to read. The size limit
// is on the message itself, the same for both transports: a POST body is
// checked before it is copied (the connectors already stopped reading at the
// limit), a GET message once decoded (the web server's request-line limit
// bounds the work), so a message of exactly `limit` bytes passes either way.
std::optional<Response> read_message(const Request& req, const std::map<std::string, std::string>& params,
                                     std::size_t limit, const AuditContext& ctx, Bytes& out) {
    const std::string too_large = "PKIOperation message exceeds the size limit";
    if (req.method == "POST") {
        if (req.body_len == 0) return bad_request(400, "PKIOperation without a message body", ctx);
        if (req.body_len > limit) return bad_request(413, too_large, ctx);
        out.assign(req.body, req.body + req.body_len);
        return std::nullopt;
    }
    auto msg = params.find("message");
    if (msg == params.end() || msg->second.empty()) return bad_request(400, "PKIOperation without a message parameter", ctx);
    auto decoded = base64_decode(msg->second);
    if (!decoded) return bad_request(400, "the message parameter is not base64", ctx);
    if (decoded->size() > limit) return bad_request(413, too_large, ctx);
    out = std::move(*decoded);
    return std::nullopt;
}

// GET, or HEAD for what GET would read: monitors and load balancers probe
// GetCACaps with HEAD. The connectors send HEAD's answer without its body.
// A PKIOperation is never HEAD: it would issue and the device never hear.
bool reads_only(const std::string& method) { return method == "GET" || method == "HEAD"; }

}  // namespace

std::optional<Response> Service::dispatch(const Request& req, bool allow_blocking, AuditContext& ctx) {
    ctx = AuditContext{"", req.profile.empty() ? "default" : req.profile, "", "", req.client_ip, req.user_agent,
                       guess_client_os(req.user_agent), ""};
    if (req.route == "ocsp") {
        ctx.operation = "ocsp";
        return ocsp(req, allow_blocking);  // the CA's, whatever the profile
    }
    if (req.route == "metrics") {
        // Before the profile: a metrics location serves every profile.
        ctx.operation = "metrics";
        if (!allow_blocking) return std::nullopt;  // reads the store's gauges
        return metrics_page(req, ctx);
    }
    auto profile = cfg_.profiles.find(ctx.profile);
    if (profile == cfg_.profiles.end()) {
        Response r = text_response(404, "no such SCEP profile\n");
        r.log(SCEPTER_LOG_ERROR, SCEPTER_ID_UNKNOWN_PROFILE, "the location names profile '" + ctx.profile + "', which the configuration does not define");
        return r;
    }
    std::string why;  // what the worker lacks
    if (req.route == "admin" || req.route == "mscep_admin") {
        ctx.operation = req.route;
        if (!allow_blocking) return std::nullopt;  // writes the store
        if (!worker_ready(why)) return unavailable(why, ctx);
        return req.route == "admin" ? admin_api(req, ctx) : mscep_admin(req, ctx);
    }
    if (req.route == "enrollments") {
        ctx.operation = req.route;
        if (!allow_blocking) return std::nullopt;  // reads the audit trail's files
        return enrollments_page(req, ctx);         // the trail, not the store: it works while the store is down
    }
    if (!cfg_.crl.path.empty() && req.path == cfg_.crl.path) {
        ctx.operation = "CRL";
        if (!reads_only(req.method)) return bad_request(405, "the CRL is fetched with GET", ctx);
        if (!allow_blocking) return std::nullopt;  // may sign a fresh CRL and write the store
        if (!worker_ready(why)) return unavailable(why, ctx);
        return crl_file(ctx);
    }
    auto params = parse_query(req.query);
    auto op = params.find("operation");
    if (op == params.end()) return bad_request(400, "missing operation parameter", ctx);
    ctx.operation = op->second;
    bool allowed = ctx.operation == "PKIOperation" ? req.method == "GET" || req.method == "POST" : reads_only(req.method);
    if (!allowed)
        return bad_request(405, "method " + req.method + " is not allowed for " + operation_name(ctx.operation), ctx);
    if (ctx.operation == "GetCACaps") return get_ca_caps(profile->second, ctx);
    if (ctx.operation == "GetCACert") return get_ca_cert(ctx);
    if (ctx.operation == "GetNextCACert") {
        // Signed with an RA key in a token: only once the worker loaded it.
        if (cfg_.next_ca && !ra_keys_ready_.load(std::memory_order_acquire)) {
            if (!allow_blocking) return std::nullopt;  // may load the keys
            if (!worker_ready(why)) return unavailable(why, ctx);
        }
        return get_next_ca_cert(ctx);
    }
    if (ctx.operation != "PKIOperation") return bad_request(400, "unknown operation", ctx);
    Bytes message;
    if (auto error = read_message(req, params, cfg_.max_message_bytes, ctx, message)) return error;
    if (!allow_blocking) return std::nullopt;
    if (!worker_ready(why)) return unavailable_pki_operation(message, profile->second, why, ctx);
    return pki_operation(message, profile->second, ctx);
}

Response Service::pki_operation(const Bytes& message, const Profile& profile, AuditContext& ctx) {
    return Enrollment(cfg_, ca_, audit_, store(), profile, hooks_.at(profile.name), status_.get(), ctx).run(message);
}

void Service::audit_get_request(const AuditContext& ctx, const char* id, const char* step, Response& r,
                                const AuditFields& fields) const {
    using namespace std::chrono;
    const std::int64_t now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    if (get_sampler_.should_log(ctx.operation, ctx.client_ip, now)) audit_.step(ctx, id, step, true, "", r, fields);
}

Response Service::get_ca_caps(const Profile& profile, AuditContext& ctx) const {
    Response r = text_response(200, caps_.at(profile.name));
    audit_get_request(ctx, SCEPTER_ID_GETCACAPS, "get_ca_caps", r);
    return r;
}

Response Service::get_next_ca_cert(AuditContext& ctx) const {
    if (ca_.getnextcacert_body.empty()) return bad_request(404, "no next CA certificate is configured", ctx);
    Response r;
    r.content_type = "application/x-x509-next-ca-cert";
    r.body = ca_.getnextcacert_body;
    audit_get_request(ctx, SCEPTER_ID_GETNEXTCACERT, "get_next_ca_cert", r);
    return r;
}

Response Service::crl_file(AuditContext& ctx) {
    CrlRecord crl = current_crl(cfg_, ca_, store());
    Response r;
    r.content_type = "application/pkix-crl";
    r.body = std::move(crl.der);
    audit_.step(ctx, SCEPTER_ID_CRL_SENT, "crl_sent", true, "", r, {{"crl_number", std::to_string(crl.number)}});
    return r;
}

Response Service::get_ca_cert(AuditContext& ctx) const {
    Response r;
    r.content_type = ca_.getcacert_type;
    r.body = ca_.getcacert_body;
    audit_get_request(ctx, SCEPTER_ID_GETCACERT, "get_ca_cert", r, {{"content_type", r.content_type}});
    return r;
}

}  // namespace scepter
