#include "admin/intune_revocation_sync.h"

#include "admin/revocation.h"
#include "integrations/intune/json_tree.h"
#include "scepter/log_ids.h"
#include "scepter/text.h"
#include "store/store_keys.h"

#include <ctime>

namespace scepter {
namespace {

// Bounds on what Intune sends before any of it is echoed (audit trail,
// results): a serial of 20 octets is 40 hex digits (with colons, 59).
constexpr std::size_t kMaxSerialChars = 128;
constexpr std::size_t kMaxContextBytes = 4096;
constexpr std::size_t kMaxIssuerEcho = 256;

struct Pending {
    std::size_t index;  // into the results
    IssuedCert cert;
};

RevocationResult answer(RevocationResult r, bool ok, const char* code, const std::string& message) {
    r.succeeded = ok;
    r.error_code = code;
    r.error_message = message;
    return r;
}

// Everything a request can be answered with before anything is revoked;
// the certificate to revoke otherwise.
std::optional<IssuedCert> look_up(Store& store, const std::string& issuer, const std::map<std::string, std::string>& req,
                                  RevocationResult& r) {
    auto field = [&](const char* k) { auto it = req.find(k); return it == req.end() ? std::string() : it->second; };
    r.request_context = field("requestContext");
    r.serial = field("serialNumber");
    const std::string asked_issuer = field("issuerName");
    if (r.request_context.size() > kMaxContextBytes || r.serial.size() > kMaxSerialChars) {
        r.request_context = utf8_truncate(r.request_context, kMaxContextBytes);
        r.serial = utf8_truncate(r.serial, kMaxSerialChars);
        r = answer(r, false, "ParameterDataInvalidError", "the request context or serial number is too long");
        return std::nullopt;
    }
    auto serial = canonical_serial(r.serial);
    if (!serial) {
        r = answer(r, false, "ParameterDataInvalidError", "the serial number is not hex");
        return std::nullopt;
    }
    if (!asked_issuer.empty() && asked_issuer != issuer) {
        r = answer(r, false, "CertificateNotFoundError",
                   "this CA is " + issuer + ", not " + utf8_truncate(asked_issuer, kMaxIssuerEcho));
        return std::nullopt;
    }
    std::optional<IssuedCert> cert;
    try {
        cert = store.find_cert(*serial);
    } catch (const StoreError& e) {
        r = answer(r, false, "ServiceUnavailableException", std::string("the store failed: ") + e.what());
        return std::nullopt;
    }
    if (!cert || canonical_serial(cert->serial_hex) != serial) {  // a thumbprint that looks like the serial
        r = answer(r, false, "CertificateNotFoundError", "no certificate of this CA has serial " + *serial);
        return std::nullopt;
    }
    r.transaction_id = cert->transaction_id;
    if (cert->status == "revoked") {
        r = answer(r, true, "None", "revoked already");
        return std::nullopt;
    }
    return cert;
}

// Revokes the batch through the admin path (one CRL for all of them).
void revoke_batch(Store& store, const RevocationSyncEnv& env, const std::vector<Pending>& batch,
                  std::vector<RevocationResult>& results, const AuditContext& ctx, Response& out) {
    if (batch.empty()) return;
    std::vector<IssuedCert> certs;
    for (const Pending& p : batch) certs.push_back(p.cert);
    try {
        RevocationBatch done = revoke_certs(env.cfg, env.ca, store, env.audit, certs, kIntuneRevocationReason,
                                            std::time(nullptr), ctx, out);
        if (!done.crl_error.empty())
            out.log(SCEPTER_LOG_ERROR, SCEPTER_ID_REVOKE_CRL_FAILED,
                    "Intune revocation sync: revoked, but the CRL could not be published: " + done.crl_error);
        for (const Pending& p : batch) results[p.index] = answer(results[p.index], true, "None", "revoked");
    } catch (const std::exception& e) {
        for (const Pending& p : batch)
            results[p.index] =
                answer(results[p.index], false, "ServiceUnavailableException", std::string("not revoked: ") + e.what());
    }
}

HttpReply post(IntuneSession& session, const char* action, const std::string& body, const RevocationSyncEnv& env) {
    IntuneSession::PkiReply sent = session.post_pki(action, body, env.user_agent);
    if (!sent.reply.success())
        throw std::runtime_error(std::string(action) + " (POST " + redact_url(sent.url) + "): " + sent.reply.why() +
                                 sent.reply.tries());
    return std::move(sent.reply);
}

}  // namespace

std::string revocation_download_body(int max_requests, const std::string& issuer_name) {
    return "{\"downloadParameters\":{\"maxRequests\":" + std::to_string(max_requests) +
           ",\"issuerName\":" + json_quote(issuer_name) + "}}";
}

std::string revocation_upload_body(const std::vector<RevocationResult>& results) {
    std::string body = "{\"results\":[";
    for (std::size_t i = 0; i < results.size(); ++i) {
        const RevocationResult& r = results[i];
        body += std::string(i ? "," : "") + "{\"requestContext\":" + json_quote(r.request_context) +
                ",\"succeeded\":" + (r.succeeded ? "true" : "false") + ",\"errorCode\":" + json_quote(r.error_code) +
                ",\"errorMessage\":" + json_quote(r.error_message) + "}";
    }
    return body + "]}";
}

std::size_t sync_revocations_once(IntuneSession& session, Store& store, const RevocationSyncEnv& env,
                                  Response& out) {
    const std::string issuer = issuing_ca_name(env.ca);
    const IntuneSettings& s = *env.cfg.profiles.at(env.profile).intune;
    HttpReply got = post(session, "downloadRevocationRequests",
                         revocation_download_body(s.revocation_max_requests, issuer), env);
    std::vector<std::map<std::string, std::string>> requests;
    try {
        requests = json_value_objects(got.body);
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("downloadRevocationRequests: ") + e.what() + ": " + excerpt(got.body));
    }
    if (requests.empty()) return 0;
    AuditContext ctx;
    ctx.profile = env.profile;
    ctx.operation = "IntuneRevocationSync";
    env.audit.step(ctx, SCEPTER_ID_INTUNE_REVOCATIONS_DOWNLOADED, "intune_revocations_downloaded", true, "", out,
                   {{"requests", std::to_string(requests.size())}});
    std::vector<RevocationResult> results(requests.size());
    std::vector<Pending> batch;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        std::optional<IssuedCert> cert = look_up(store, issuer, requests[i], results[i]);
        if (cert) batch.push_back({i, std::move(*cert)});
    }
    revoke_batch(store, env, batch, results, ctx, out);
    for (const RevocationResult& r : results) {
        AuditContext one = ctx;
        one.transaction_id = r.transaction_id;
        env.audit.step(one, SCEPTER_ID_INTUNE_REVOCATION_ANSWERED, "intune_revocation_answered", true, r.error_message,
                       out, {{"serial", r.serial}, {"succeeded", r.succeeded ? "true" : "false"},
                             {"error_code", r.error_code}, {"request_context", r.request_context}});
    }
    HttpReply up = post(session, "uploadRevocationResults", revocation_upload_body(results), env);
    if (json_top_string(up.body, "value") != std::optional<std::string>("true"))
        throw std::runtime_error("uploadRevocationResults: Intune did not take the results: " + excerpt(up.body));
    env.audit.step(ctx, SCEPTER_ID_INTUNE_REVOCATIONS_UPLOADED, "intune_revocations_uploaded", true, "", out,
                   {{"results", std::to_string(results.size())}});
    return requests.size();
}

}  // namespace scepter
