// The admin location's POST operations for an MDM or a script:
//   ?operation=revoke            {"serial": "..."} | {"subject": "CN"} | {"device_id": "SAN value"},
//                                optional "reason" (an RFC 5280 name): revokes through
//                                admin/revocation.cc (the CLI's path: same audit lines,
//                                one CRL), answers {"revoked": [...], ...}
//   ?operation=challenge_webhook a fresh one-time challenge as the text/plain body, as
//                                Jamf Pro's "webhook" challenge type expects (its JSON
//                                body about the device is not needed and not read)
// Access control is the web server's, checked by admin_api before either runs.
// A location bound to a profile revokes that profile's certificates only.
#include "admin/revocation.h"
#include "scepter/log_ids.h"
#include "scepter/text.h"
#include "service/service.h"
#include "util/json_flat.h"

#include <algorithm>
#include <ctime>
#include <set>

namespace scepter {
namespace {

// A revocation order is a few short fields; anything larger is not one.
constexpr std::size_t kMaxRevokeBody = 4096;
// A match revokes at most this many certificates per call; the answer says
// when more remain (call again).
constexpr std::size_t kMaxRevokedPerCall = 1000;

Response refused(int status, const std::string& why, const AuditContext& ctx) {
    Response r = json_response(status, "{\"error\":" + json_quote(why) + "}");
    r.log(SCEPTER_LOG_WARN, SCEPTER_ID_ADMIN_BAD_REQUEST,
          "client " + ctx.client_ip + ": admin " + ctx.operation + " refused (" + std::to_string(status) +
              "): " + log_safe(why));
    return r;
}

std::string json_list(const std::vector<IssuedCert>& certs) {
    std::string out = "[";
    for (const auto& c : certs) out += (out.size() > 1 ? "," : "") + json_quote(c.serial_hex);
    return out + "]";
}

// What the body asks for: exactly one of serial, subject, device_id, as text.
struct RevokeOrder {
    std::string key;    // serial, subject, device_id
    std::string value;
    int reason = 0;
};

// Throws std::invalid_argument with the words for the 400.
RevokeOrder read_order(std::string_view body) {
    FlatJsonObject json;
    try {
        json = parse_flat_json(body);
    } catch (const JsonError& e) {
        throw std::invalid_argument(std::string("the body is not a flat JSON object: ") + e.what());
    }
    static const std::set<std::string> kKnown{"serial", "subject", "device_id", "reason"};
    RevokeOrder order;
    for (const auto& [key, value] : json) {
        if (!kKnown.count(key))
            throw std::invalid_argument("unknown field " + json_quote(key) +
                                        "; known are serial, subject, device_id and reason");
        if (!value.is_string()) throw std::invalid_argument("field " + json_quote(key) + " must be a string");
        if (value.text.empty()) throw std::invalid_argument("field " + json_quote(key) + " is empty");
        if (key == "reason") {
            auto code = revocation_reason_code(value.text);
            if (!code)
                throw std::invalid_argument("reason must be one of " + revocation_reason_choices() + ", not " +
                                            json_quote(value.text));
            order.reason = *code;
            continue;
        }
        if (!order.key.empty())
            throw std::invalid_argument("give one of serial, subject and device_id, not " + order.key + " and " + key);
        order.key = key;
        order.value = value.text;
    }
    if (order.key.empty()) throw std::invalid_argument("the body names no serial, subject or device_id");
    return order;
}

}  // namespace

Response Service::admin_revoke(const Request& req, const std::string& requester, AuditContext& ctx) {
    ctx.operation = "revoke";
    if (req.method != "POST") return refused(405, "revoke is a POST with a JSON body", ctx);
    if (req.body_len > kMaxRevokeBody)
        return refused(413, "the body is larger than " + std::to_string(kMaxRevokeBody) + " bytes", ctx);
    RevokeOrder order;
    try {
        order = read_order(std::string_view(reinterpret_cast<const char*>(req.body), req.body_len));
    } catch (const std::invalid_argument& e) {
        return refused(400, e.what(), ctx);
    }
    Response resp;
    try {
        Store& st = store();
        std::int64_t now = std::int64_t(std::time(nullptr));
        std::vector<IssuedCert> targets;
        std::vector<IssuedCert> already;
        bool more = false;
        if (order.key == "serial") {
            auto cert = st.find_cert(order.value);
            if (!cert || (!req.profile.empty() && cert->profile != req.profile))
                return json_response(404, "{\"error\":" + json_quote("no certificate with serial " + order.value) + "}");
            (cert->status == "revoked" ? already : targets).push_back(*cert);
        } else {
            CertMatch match{order.key == "subject" ? CertMatch::Field::subject_cn : CertMatch::Field::san, order.value};
            targets = st.find_certs(match, now, kMaxRevokedPerCall + 1);
            if (!req.profile.empty())
                targets.erase(std::remove_if(targets.begin(), targets.end(),
                                             [&](const IssuedCert& c) { return c.profile != req.profile; }),
                              targets.end());
            more = targets.size() > kMaxRevokedPerCall;
            if (more) targets.resize(kMaxRevokedPerCall);
        }
        RevocationBatch batch = revoke_certs(cfg_, ca_, st, audit_, targets, order.reason, now, ctx, resp);
        already.insert(already.end(), batch.revoked_meanwhile.begin(), batch.revoked_meanwhile.end());
        if (!batch.revoked.empty() && !batch.crl)
            resp.log(SCEPTER_LOG_ERROR, SCEPTER_ID_REVOKE_CRL_FAILED,
                     std::to_string(batch.revoked.size()) +
                         " certificate(s) revoked, but the CRL could not be published (OCSP answers revoked; the "
                         "CRL catches up at its next publication): " + log_safe(batch.crl_error));
        if (!batch.revoked.empty())
            resp.log(SCEPTER_LOG_INFO, SCEPTER_ID_CERT_REVOKED,
                     std::to_string(batch.revoked.size()) + " certificate(s) revoked by " + log_safe(requester) +
                         " through the admin location");
        std::string body = "{\"revoked\":" + json_list(batch.revoked) + ",\"already_revoked\":" + json_list(already) +
                           ",\"reason\":" + json_quote(revocation_reason_name(order.reason)) + ",\"crl_number\":" +
                           (batch.crl ? std::to_string(batch.crl->number) : "null") +
                           ",\"more\":" + (more ? "true" : "false") + "}";
        Response r = json_response(200, body);
        r.logs = std::move(resp.logs);
        return r;
    } catch (...) {
        return request_failed(std::current_exception(), std::move(resp.logs));
    }
}

Response Service::challenge_webhook(const Request& req, const std::string& requester, AuditContext& ctx) {
    ctx.operation = "challenge_webhook";
    if (req.method != "POST") return refused(405, "challenge_webhook is a POST", ctx);
    const Profile& profile = cfg_.profiles.at(ctx.profile);
    Response resp;
    try {
        IssuedChallenge c = issue_one_time(profile, requester, requester, {}, ctx, resp);
        Response r = text_response(200, c.challenge);
        r.logs = std::move(resp.logs);
        return r;
    } catch (const ChallengeQuotaFull&) {
        Response r = text_response(429, "the requester holds its quota of unused challenges\n");
        r.log(SCEPTER_LOG_WARN, SCEPTER_ID_ADMIN_BAD_REQUEST,
              "client " + ctx.client_ip + ": challenge_webhook refused (429): the quota of unused challenges is full");
        return r;
    } catch (const ChallengeRefused& e) {
        Response r = text_response(403, std::string(e.what()) + "\n");
        r.logs = std::move(resp.logs);
        return r;
    } catch (...) {
        return request_failed(std::current_exception(), std::move(resp.logs));
    }
}

}  // namespace scepter
