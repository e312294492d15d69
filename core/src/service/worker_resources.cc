// What a worker builds after fork - the store's connections, the status
// records, the validation services' HTTP clients - and what it answers while
// it could not build them. A worker is ready only when every piece its
// profiles need is in place: the pieces are built into locals and published
// together, so a request never sees half of them (an enrollment that skips
// the external validation because its client is missing would issue what
// the validation service never approved). Until then every request that
// needs them is refused in a way that issues nothing, and the build is tried
// again at most every kRetryInterval, so a transient problem heals (a PIN a
// token refused excepted: see load_token_key_once).
#include "ca/cert_rep.h"
#include "ca/token_key.h"
#include "config/config_paths.h"
#include "enrollment/steps.h"
#include "integrations/intune/intune_session.h"
#include "scepter/log_ids.h"
#include "service/service.h"

namespace scepter {
namespace {

constexpr std::chrono::seconds kRetryInterval{5};

ExternalValidationConfig validator_config(const ExternalValidationSettings& s) {
    ExternalValidationConfig c;
    c.validate_url = s.validate_url;
    c.success_url = s.success_url;
    c.failure_url = s.failure_url;
    c.timeout_ms = s.timeout_ms;
    c.retries = s.retries;
    c.caller_info = s.caller_info;
    c.headers = s.headers;
    return c;
}

}  // namespace

// A real tenant: the URLs and credentials come from the session, the
// client certificate (if any) from the CA material loaded at configuration.
ExternalValidationConfig Service::intune_config(const std::string& profile, const IntuneSettings& s) const {
    ExternalValidationConfig c;
    c.timeout_ms = s.timeout_ms;
    c.retries = s.retries;
    c.caller_info = s.caller_info;
    c.ca_file = s.ca_file;
    auto pair = ca_.intune_clients.find(profile);
    X509* cert = pair == ca_.intune_clients.end() ? nullptr : pair->second.cert.get();
    EVP_PKEY* key = pair == ca_.intune_clients.end() ? nullptr : pair->second.key.get();
    c.target = std::make_shared<IntuneSession>(s, cert, key);
    return c;
}

namespace {

// The failure that made the worker unready, for the error log.
std::string not_ready_text(const AuditContext& ctx, const std::string& why, const char* answer) {
    std::string who = ctx.transaction_id.empty() ? "client " + ctx.client_ip : "transaction " + ctx.transaction_id;
    return who + ": " + ctx.operation + " answered " + answer +
           ": this worker could not build what its profiles need: " + why;
}

}  // namespace

void Service::check_worker_user(const std::string& name, unsigned long uid, unsigned long gid) const {
    check_worker_paths(cfg_, worker_path_user(name, uid_t(uid), gid_t(gid)));
    // The workers reopen the trail by name (logrotate) and the enrollments
    // page reads it: a file created just now by root must be theirs.
    std::string why = audit_.hand_to(uid, gid);
    if (!why.empty()) throw ConfigError(cfg_.path, cfg_.line_of("audit_log"), "audit_log", why);
}

void Service::check_ca_key() const { check_token_keys(cfg_, ca_); }

// Keys in a token (the CA's, the RA's) are loaded in the worker, after fork,
// the CA's first: until all are, the worker is not ready. A PIN the token
// refused is not tried again before a reload: tried every few seconds by
// every worker it would lock a real token's PIN. Anything else (the token
// busy or unreachable) is retried like the rest of the worker's resources.
void Service::load_token_key_once() {
    if (!cfg_.ca_token || (ca_.ca.key && ra_keys_ready_.load(std::memory_order_relaxed))) return;
    if (!pin_failure_.empty()) throw std::runtime_error(pin_failure_ + " (not tried again before a reload)");
    try {
        load_ca_token_key(cfg_, ca_);
        load_ra_token_keys(cfg_, ca_);
    } catch (const TokenPinError& e) {
        pin_failure_ = e.what();
        throw;
    }
    ra_keys_ready_.store(true, std::memory_order_release);
}

void Service::build_worker_resources() {
    load_token_key_once();
    // As the worker itself: names the directory it cannot write, before
    // SQLite or mkdir report it less clearly.
    check_worker_paths(cfg_, current_path_user());
    std::unique_ptr<Store> store = open_configured_store(cfg_, StoreUser::worker);
    std::unique_ptr<StatusRecords> status;
    try {
        if (!cfg_.status_dir.empty()) status = std::make_unique<StatusRecords>(cfg_.status_dir);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("status_dir: ") + e.what());
    }
    std::map<std::string, std::unique_ptr<ExternalValidator>> validators;
    for (const auto& [name, profile] : cfg_.profiles) {
        const char* block = profile.intune ? "intune" : "external_validation";
        try {
            if (profile.external_validation)
                validators[name] = std::make_unique<ExternalValidator>(validator_config(*profile.external_validation));
            if (profile.intune) validators[name] = std::make_unique<ExternalValidator>(intune_config(name, *profile.intune));
        } catch (const std::exception& e) {
            throw std::runtime_error("profile '" + name + "': " + block + ": " + e.what());
        }
    }
    // Publish: nothing below throws, and store_ goes last (it is the flag).
    for (auto& [name, validator] : validators) hooks_.at(name).validator = std::move(validator);
    status_ = std::move(status);
    store_ = std::move(store);
}

void Service::try_building() {
    attempted_ = true;
    last_attempt_ = std::chrono::steady_clock::now();
    try {
        build_worker_resources();
        build_failure_.clear();
    } catch (const std::exception& e) {
        build_failure_ = e.what();
    } catch (...) {
        build_failure_ = "unknown error while building the worker's resources";
    }
}

bool Service::worker_ready(std::string& why) {
    std::lock_guard<std::mutex> lock(store_mutex_);
    if (store_) return true;
    if (!attempted_ || std::chrono::steady_clock::now() - last_attempt_ >= kRetryInterval) try_building();
    why = build_failure_;
    return store_ != nullptr;
}

void Service::worker_init() {
    std::lock_guard<std::mutex> lock(store_mutex_);
    if (store_) return;
    try_building();
    if (!store_) throw std::runtime_error(build_failure_);
}

Store& Service::store() {
    // A consumer that never forked (the CLI, unit tests) builds on first use.
    std::string why;
    if (!worker_ready(why)) throw std::runtime_error("the store is not available: " + why);
    return *store_;
}

// Where no CertRep can answer (the admin faces, the CRL, a message without
// the attributes a CertRep echoes).
Response Service::unavailable(const std::string& why, AuditContext& ctx) const {
    Response r = text_response(503, "the SCEP service is unavailable\n");
    r.log(SCEPTER_LOG_ERROR, SCEPTER_ID_WORKER_NOT_READY, not_ready_text(ctx, why, "HTTP 503"));
    return r;
}

// A signed CertRep FAILURE: the client learns it got no certificate and why,
// in the protocol's own terms, and may retry later.
Response Service::unavailable_pki_operation(const Bytes& message, const Profile& profile, const std::string& why,
                                            AuditContext& ctx) const {
    // An RA key in a token not loaded yet: no CertRep can be signed.
    if (!ra_keys_ready_.load(std::memory_order_acquire)) return unavailable(why, ctx);
    ScepAttributes attrs = read_unverified_attributes(message);
    try {
        check_attribute_bounds(cfg_.input_limits, attrs);
    } catch (const std::invalid_argument&) {
        return unavailable(why, ctx);  // nothing of them is echoed or logged
    }
    ctx.transaction_id = attrs.transaction_id;
    if (attrs.transaction_id.empty() || attrs.sender_nonce.empty()) return unavailable(why, ctx);
    Response r;
    r.log(SCEPTER_LOG_ERROR, SCEPTER_ID_WORKER_NOT_READY, not_ready_text(ctx, why, "FAILURE"));
    r.status = 200;
    r.content_type = "application/x-pki-message";
    r.body = cert_rep_failure(ca_, profile, attrs, FailInfo::bad_request,
                              "service_unavailable: the SCEP service is not ready; try again later");
    ctx.pki_status = "FAILURE";
    // A failed step, as every other FAILURE is, so `scepter trace --failed`,
    // the enrollments page and the outcome agree; SCP1004 above is its log line.
    audit_.failure_logged_elsewhere(ctx, SCEPTER_ID_RESPONSE_SENT, "response_sent", "service_unavailable: " + why, r,
                                    {{"pki_status", "FAILURE"}, {"fail_info", to_string(FailInfo::bad_request)}});
    return r;
}

}  // namespace scepter
