// One configuration generation: the parsed config, the loaded keys, the
// precomputed GetCACaps/GetCACert answers, the audit log and (after fork)
// the store. handle() is the single entry point for every HTTP request.
#pragma once

#include "ca/ca_material.h"
#include "challenge/challenge.h"
#include "challenge/challenge_claims.h"
#include "enrollment/enrollment.h"
#include "scepter/challenge.h"
#include "scepter/config.h"
#include "scepter/store.h"
#include "service/audit.h"
#include "service/response.h"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace scepter {

class Service {
   public:
    // Configuration time: parses, loads and checks everything. Throws
    // ConfigError (or std::runtime_error) with a message for the admin.
    static std::unique_ptr<Service> load(const std::string& path);

    bool has_profile(const std::string& name) const { return cfg_.profiles.count(name) != 0; }

    // In each worker after fork: opens the store. Throws on failure.
    void worker_init();

    // Thread-safe. nullopt when the request needs slow work and
    // allow_blocking is false (the connector then retries on a worker thread).
    std::optional<Response> handle(const Request& req, bool allow_blocking) noexcept;

    const Config& config() const { return cfg_; }
    const CaMaterial& ca() const { return ca_; }
    Store& store();

   private:
    Service(Config cfg, CaMaterial ca);
    void open_worker_resources();
    std::optional<Response> dispatch(const Request& req, bool allow_blocking);
    Response get_ca_caps(const Profile& profile, AuditContext& ctx) const;
    Response get_ca_cert(AuditContext& ctx) const;
    Response get_next_ca_cert(AuditContext& ctx) const;
    Response crl_file(AuditContext& ctx);

    // the admin faces (service_admin.cc)
    std::optional<std::string> admin_requester(const Request& req) const;
    Response refuse_unauthenticated(const AuditContext& ctx) const;
    // The one issuance every admin face shares (admin/one_time_challenge.h).
    IssuedChallenge issue_one_time(const Profile& p, const std::string& user, const std::string& requester,
                                   Claims claims, AuditContext& ctx, Response& resp);
    Response admin_api(const Request& req, AuditContext& ctx);
    Response mscep_admin(const Request& req, AuditContext& ctx);
    Response pki_operation(const Bytes& message, const Profile& profile, AuditContext& ctx);

    Config cfg_;
    CaMaterial ca_;
    AuditLog audit_;
    std::map<std::string, std::string> caps_;  // per profile, computed at load
    std::map<std::string, ProfileHooks> hooks_;  // per profile: policy, validation service
    std::unique_ptr<StatusRecords> status_;      // opened in the worker (it creates directories)
    std::mutex store_mutex_;                     // guards opening store_
    std::unique_ptr<Store> store_;
};

// The GetCACaps text for a profile: only what is enforced and implemented.
std::string capabilities_of(const Profile& p, bool next_ca);

}  // namespace scepter
