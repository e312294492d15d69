// One configuration generation: the parsed config, the loaded keys, the
// precomputed GetCACaps/GetCACert answers, the audit log and (after fork)
// the store. handle() is the single entry point for every HTTP request.
#pragma once

#include "audit/audit.h"
#include "audit/get_sampling.h"
#include "ca/ca_material.h"
#include "challenge/challenge.h"
#include "challenge/challenge_claims.h"
#include "codec/response.h"
#include "enrollment/enrollment.h"
#include "admin/intune_revocation_poller.h"
#include "ocsp/ocsp_responder.h"
#include "scepter/challenge.h"
#include "scepter/config.h"
#include "scepter/store.h"

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace scepter {

class Service {
   public:
    // Configuration time: parses, loads and checks everything. Throws
    // ConfigError (or std::runtime_error) with a message for the admin.
    static std::unique_ptr<Service> load(const std::string& path);

    bool has_profile(const std::string& name) const { return cfg_.profiles.count(name) != 0; }

    // In each worker after fork: builds everything the profiles need (the
    // store, the status records, every validation client), all or nothing.
    // Throws with the reason on failure; the service then answers what needs
    // them with a refusal that issues nothing, and tries again later.
    void worker_init();

    // In each worker after worker_init: starts the worker's background
    // tasks on threads of their own (the Intune revocation sync of each
    // profile whose intune block polls); their log lines go to `sink`, from
    // those threads. stop_background_tasks stops them and waits (the web
    // server's worker exit; the destructor does it too). worker_tasks.cc.
    using LogSink = std::function<void(const LogLine&)>;
    void start_background_tasks(LogSink sink);
    void stop_background_tasks() noexcept;

    // Configuration time, once the web server knows the user its workers
    // will run as: can that user write the store and status_dir? Throws
    // ConfigError.
    void check_worker_user(const std::string& name, unsigned long uid, unsigned long gid) const;

    // A configuration check that exits afterwards: every key in a token (the
    // CA's, the RA's) is loaded and checked against its certificate, then let go.
    void check_ca_key() const;

    // Thread-safe. nullopt when the request needs slow work and
    // allow_blocking is false (the connector then retries on a worker thread).
    std::optional<Response> handle(const Request& req, bool allow_blocking) noexcept;

    // The audit_log file ("" when lines go to the error log), and opening
    // it again by that name after logrotate renamed it (AuditLog::reopen).
    const std::string& audit_log_path() const { return cfg_.audit_log; }
    std::string reopen_audit_log() const noexcept { return audit_.reopen(); }

    // Loading's warnings for the admin (expiring CA/RA certificates).
    const std::vector<std::string>& load_warnings() const { return load_warnings_; }

    // Configuration time: the metrics block the web server shares between
    // its workers and keeps across reloads (service_metrics.cc).
    bool attach_metrics(void* mem, std::size_t len) noexcept { return audit_.attach_metrics(mem, len); }

    const Config& config() const { return cfg_; }
    const CaMaterial& ca() const { return ca_; }
    OcspResponder& ocsp_responder() { return *ocsp_; }
    Store& store();

   private:
    Service(Config cfg, CaMaterial ca);

    // the worker's resources (worker_resources.cc)
    bool worker_ready(std::string& why);  // builds them if due; why: the last failure
    void try_building();                  // store_mutex_ held; never throws
    void build_worker_resources();        // store_mutex_ held; publishes only when all are built
    void load_token_key_once();           // store_mutex_ held; the CA and RA keys that are in a token
    ExternalValidationConfig intune_config(const std::string& profile, const IntuneSettings& s) const;
    Response unavailable(const std::string& why, AuditContext& ctx) const;
    Response unavailable_pki_operation(const Bytes& message, const Profile& profile, const std::string& why,
                                       AuditContext& ctx) const;

    std::optional<Response> dispatch(const Request& req, bool allow_blocking, AuditContext& ctx);
    Response get_ca_caps(const Profile& profile, AuditContext& ctx) const;
    Response get_ca_cert(AuditContext& ctx) const;
    Response get_next_ca_cert(AuditContext& ctx) const;
    Response crl_file(AuditContext& ctx);
    // The audit line of a GetCACaps/GetCACert/GetNextCACert, when audit:
    // get_requests: lets it through.
    void audit_get_request(const AuditContext& ctx, const char* id, const char* step, Response& r,
                           const AuditFields& fields = {}) const;

    // the admin faces (service_admin.cc)
    std::optional<std::string> admin_requester(const Request& req) const;
    Response refuse_unauthenticated(const AuditContext& ctx) const;
    Response refuse_other_profile(const Request& req, const std::string& asked, const AuditContext& ctx) const;
    // The one issuance every admin face shares (admin/one_time_challenge.h).
    IssuedChallenge issue_one_time(const Profile& p, const std::string& user, const std::string& requester,
                                   Claims claims, AuditContext& ctx, Response& resp);
    Response admin_api(const Request& req, AuditContext& ctx);
    // The admin location's POST operations (service_admin_revoke.cc):
    // ?operation=revoke (JSON in, JSON out) and ?operation=challenge_webhook
    // (a fresh one-time challenge as text/plain, as Jamf Pro's webhook wants).
    Response admin_revoke(const Request& req, const std::string& requester, AuditContext& ctx);
    Response challenge_webhook(const Request& req, const std::string& requester, AuditContext& ctx);
    Response mscep_admin(const Request& req, AuditContext& ctx);
    Response enrollments_page(const Request& req, AuditContext& ctx);  // service_enrollments.cc
    // the metrics (service_metrics.cc)
    Response metrics_page(const Request& req, const AuditContext& ctx);
    void count_request(const AuditContext& ctx, const Response& r, std::chrono::steady_clock::time_point start) const noexcept;
    Response pki_operation(const Bytes& message, const Profile& profile, AuditContext& ctx);
    // the OCSP face (service_ocsp.cc)
    std::optional<Response> ocsp(const Request& req, bool allow_blocking);

    Config cfg_;
    CaMaterial ca_;
    AuditLog audit_;
    mutable GetRequestSampler get_sampler_;
    std::map<std::string, std::string> caps_;  // per profile, computed at load
    std::vector<std::string> load_warnings_;
    std::map<std::string, ProfileHooks> hooks_;  // per profile: policy, validation service
    std::unique_ptr<OcspResponder> ocsp_;        // made at load; each process fills its own cache, issues its own signer
    std::unique_ptr<StatusRecords> status_;      // opened in the worker (it creates directories)
    std::mutex store_mutex_;                     // guards building and publishing the worker's resources
    std::unique_ptr<Store> store_;               // published last: set means everything is in place
    std::string pin_failure_;                    // the token refused the CA key's PIN: not tried again (lockout)
    // The RA keys and what they sign at load (GetNextCACert) are in place:
    // from the start with key files, once the worker loaded them from a token.
    // Read without store_mutex_ (a CertRep FAILURE while not ready).
    std::atomic<bool> ra_keys_ready_{false};
    std::string build_failure_;                  // why the last attempt failed
    std::chrono::steady_clock::time_point last_attempt_;
    bool attempted_ = false;
    // Last: stopped (destroyed) before everything they use.
    std::vector<std::unique_ptr<RevocationPoller>> pollers_;
};

// The answer to a request that failed with `error` (the store unavailable:
// 503; anything else: 500), carrying the log lines it wrote before, so that
// nothing it logged is lost with the exception.
Response request_failed(std::exception_ptr error, std::vector<LogLine> earlier);

// The GetCACaps text for a profile: only what is enforced and implemented.
std::string capabilities_of(const Profile& p, bool next_ca);

}  // namespace scepter
