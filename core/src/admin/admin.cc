// scepter::Admin: the configuration and, opened when first needed, the store,
// the CA key, the profiles' policies and the audit log; the operations on
// certificates, requests and challenges.
#include "scepter/admin.h"

#include "admin/intune_check.h"
#include "admin/one_time_challenge.h"
#include "admin/revocation.h"
#include "audit/audit.h"
#include "ca/ca_material.h"
#include "ca/token_key.h"
#include "config/ca_key.h"
#include "ca/crl.h"
#include "policy/policy.h"
#include "scepter/log_ids.h"

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>

namespace scepter {

namespace fs = std::filesystem;

struct Admin::Impl {
    Config cfg;
    AdminLogSink log;
    std::unique_ptr<Store> store;
    std::optional<CaMaterial> ca;
    std::unique_ptr<AuditLog> audit;
    std::map<std::string, std::unique_ptr<PolicyEngine>> policies;

    // Reading never creates the store: a file made by root here could be
    // unwritable for the web server's workers. Null when nothing was ever
    // recorded. sqlite_path was resolved by the configuration loader.
    Store* existing_store() {
        if (!store && cfg.uses_postgresql()) store = open_configured_store(cfg, StoreUser::command);
        if (!store) check_store_not_lost(cfg.sqlite_path);
        if (!store && fs::exists(cfg.sqlite_path)) store = open_sqlite_store(cfg.sqlite_path, cfg.store_settings(StoreUser::command));
        return store.get();
    }

    // Writing creates it when new; its directory must exist.
    Store& writable_store() {
        if (store) return *store;
        if (cfg.uses_postgresql()) return *(store = open_configured_store(cfg, StoreUser::command));
        fs::path dir = fs::path(cfg.sqlite_path).parent_path();
        if (!dir.empty() && !fs::is_directory(dir))
            throw std::runtime_error("the store's directory " + dir.string() + " does not exist");
        store = open_sqlite_store(cfg.sqlite_path, cfg.store_settings(StoreUser::command));
        return *store;
    }

    const CaMaterial& ca_material() {
        if (ca) return *ca;
        CaMaterial loaded = load_ca_material(cfg);
        load_ca_token_key(cfg, loaded);  // the CLI signs CRLs itself: a token's key is loaded here
        ca = std::move(loaded);
        return *ca;
    }

    const AuditLog& audit_log() {
        if (!audit) audit = std::make_unique<AuditLog>(cfg.audit_log);
        return *audit;
    }

    PolicyEngine* policy(const Profile& p) {
        if (p.policy_path.empty()) return nullptr;
        auto& engine = policies[p.name];
        if (!engine) engine = PolicyEngine::compile(p.policy_path, p.policy_limits);
        return engine.get();
    }

    const Profile* profile(const std::string& name) const {
        auto it = cfg.profiles.find(name);
        return it == cfg.profiles.end() ? nullptr : &it->second;
    }

    std::string no_profile(const std::string& name) const { return cfg.path + " has no profile '" + name + "'"; }

    // An administrator's change to the store, in the audit trail beside the
    // enrollments it affects (the transaction ID ties a decision to its request).
    void audit_change(const char* id, const char* step, const std::string& profile, const std::string& transaction_id,
                      const AuditFields& fields) {
        AuditContext ctx{transaction_id, profile, "cli", "", "local", "scepter-cli", "local", ""};
        Response resp;
        audit_log().step(ctx, id, step, true, "", resp, fields);
        forward(resp);
    }

    // Before changing anything the CA key is loaded: a key this user cannot
    // read must not leave a revocation behind that no CRL reports.
    RevocationBatch revoke(const std::vector<IssuedCert>& certs, int reason) {
        const CaMaterial& ca_key = ca_material();
        const AuditLog& trail = audit_log();
        AuditContext ctx{"", "", "cli", "", "local", "scepter-cli", "local", ""};
        Response resp;
        try {
            RevocationBatch batch =
                revoke_certs(cfg, ca_key, *store, trail, certs, reason, std::int64_t(std::time(nullptr)), ctx, resp);
            forward(resp);
            return batch;
        } catch (...) {
            forward(resp);
            throw;
        }
    }

    void forward(Response& resp) {
        if (log)
            for (const auto& line : resp.logs) log(line.level, line.text);
        resp.logs.clear();
    }
};

Admin::Admin(const std::string& config_path, AdminLogSink log) : impl_(std::make_unique<Impl>()) {
    impl_->cfg = load_config(config_path);
    impl_->log = std::move(log);
}

Admin::~Admin() = default;

const Config& Admin::config() const noexcept { return impl_->cfg; }

IssuedChallenge Admin::issue_challenge(const ChallengeOrder& order, const std::string& operation) {
    const Profile* found = impl_->profile(order.profile);
    if (found == nullptr) throw ChallengeRefused(impl_->no_profile(order.profile));
    const Profile& p = *found;
    require_one_time(p);  // before any file is opened or created
    PolicyEngine* policy = impl_->policy(p);
    const AuditLog& audit = impl_->audit_log();
    Store& store = impl_->writable_store();
    AuditContext ctx{"", p.name, operation, "", "local", "scepter-cli", "local", ""};
    Response resp;
    try {
        IssuedChallenge c = issue_one_time(p, policy, store, audit, order, ctx, resp);
        impl_->forward(resp);
        return c;
    } catch (...) {
        impl_->forward(resp);
        throw;
    }
}

std::size_t Admin::purge_expired_challenges() {
    Store* store = impl_->existing_store();
    return store ? store->purge_challenges(std::int64_t(std::time(nullptr))) : 0;
}

std::size_t Admin::withdraw_unused_challenges(const std::string& requester) {
    Store* store = impl_->existing_store();
    std::size_t withdrawn = store ? store->withdraw_unused_challenges(requester) : 0;
    impl_->audit_change(SCEPTER_ID_CHALLENGES_WITHDRAWN, "challenges_withdrawn", "", "",
                        {{"requester", requester.empty() ? "(all)" : requester},
                         {"withdrawn", std::to_string(withdrawn)}});
    return withdrawn;
}

std::vector<IssuedCert> Admin::list_certs(std::size_t limit) {
    Store* store = impl_->existing_store();
    return store ? store->list_certs(limit) : std::vector<IssuedCert>{};
}

std::optional<IssuedCert> Admin::find_cert(const std::string& serial_or_thumbprint) {
    Store* store = impl_->existing_store();
    return store ? store->find_cert(serial_or_thumbprint) : std::nullopt;
}

// Through revoke_certs (admin/revocation.cc): the CRL after the
// revocation, the audit line with the CRL's number.
Revocation Admin::revoke_cert(const std::string& serial_or_thumbprint, int reason) {
    Revocation out;
    std::optional<IssuedCert> cert = find_cert(serial_or_thumbprint);
    if (!cert) return out;
    out.cert = *cert;
    if (cert->status == "revoked") {
        out.result = Revocation::Result::already_revoked;
        return out;
    }
    RevocationBatch batch = impl_->revoke({*cert}, reason);
    if (batch.revoked.empty()) {
        out.result = Revocation::Result::revoked_meanwhile;
        return out;
    }
    out.result = Revocation::Result::revoked;
    out.crl = std::move(batch.crl);
    out.crl_error = std::move(batch.crl_error);
    return out;
}

BulkRevocation Admin::revoke_matching(const CertMatch& match, int reason) {
    BulkRevocation out;
    Store* store = impl_->existing_store();
    if (store == nullptr) return out;
    std::vector<IssuedCert> found = store->find_certs(match, std::int64_t(std::time(nullptr)), SIZE_MAX);
    if (found.empty()) return out;
    RevocationBatch batch = impl_->revoke(found, reason);
    out.revoked = std::move(batch.revoked);
    out.revoked_meanwhile = std::move(batch.revoked_meanwhile);
    out.crl = std::move(batch.crl);
    out.crl_error = std::move(batch.crl_error);
    return out;
}

CrlRecord Admin::publish_crl() {
    const CaMaterial& ca = impl_->ca_material();
    return scepter::publish_crl(impl_->cfg, ca, impl_->writable_store());
}

std::vector<PendingRequest> Admin::list_requests(const std::string& status, std::size_t limit) {
    Store* store = impl_->existing_store();
    return store ? store->list_pending(status, limit) : std::vector<PendingRequest>{};
}

std::optional<PendingRequest> Admin::find_request(const std::string& transaction_id) {
    Store* store = impl_->existing_store();
    return store ? store->find_pending(transaction_id) : std::nullopt;
}

RequestDecision Admin::decide_request(const std::string& transaction_id, bool approve, const std::string& reason) {
    RequestDecision out;
    Store* store = impl_->existing_store();
    if (store == nullptr) return out;
    out.decided = store->decide_pending(transaction_id, approve, reason, std::int64_t(std::time(nullptr)));
    // Why not: unknown, or somebody (another admin, an issuance) got there first.
    out.request = store->find_pending(transaction_id);
    if (out.decided && out.request)
        impl_->audit_change(SCEPTER_ID_REQUEST_DECIDED, "request_decided", out.request->profile, transaction_id,
                            {{"decision", approve ? "approved" : "denied"}, {"reason", reason}});
    return out;
}

PolicyTrial Admin::policy_trial(const std::string& profile) const {
    const Profile* found = impl_->profile(profile);
    if (found == nullptr) throw std::runtime_error(impl_->no_profile(profile));
    const Profile& p = *found;
    PolicyTrial trial;
    trial.policy_path = p.policy_path;
    trial.profile = p.name;
    trial.profile_template = p.template_name;
    trial.limits = p.policy_limits;
    // As the enrollment fills req.templates: a single-template profile
    // names its template for all three cases.
    TemplateByKeyUsage by =
        p.by_key_usage.value_or(TemplateByKeyUsage{p.template_name, p.template_name, p.template_name});
    trial.templates = {{"signature", by.signature}, {"encryption", by.encryption},
                       {"general_purpose", by.general_purpose}};
    return trial;
}

ossl::PKey load_token_private_key(const TokenKeySettings& settings) {
    std::string problem = pkcs11_uri_problem(settings.uri);
    if (!problem.empty()) throw std::runtime_error("'" + settings.uri + "': " + problem);
    return load_token_key(settings);
}

std::vector<Admin::IntuneStage> Admin::check_intune(const std::string& profile,
                                                   const std::function<void(const IntuneStage&)>& report) {
    const Profile* p = impl_->profile(profile);
    if (p == nullptr) throw std::runtime_error(impl_->no_profile(profile));
    if (!p->intune) throw std::runtime_error("profile '" + profile + "' has no intune block");
    return run_intune_check(*p, impl_->ca_material(), report);
}

}  // namespace scepter
