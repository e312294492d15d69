// The admin faces: the JSON challenge API (`scepter_admin`) and NDES's
// mscep_admin page with its NDESGenerateChallenge / NDESGetCACertThumbprint
// operations (`scepter_mscep_admin`), so that MDMs built for NDES work
// unchanged. Access control is the web server's; the core only refuses to
// serve a request nobody authenticated, unless the config says otherwise.
#include "admin/one_time_challenge.h"
#include "challenge/challenge_claims.h"
#include "codec/query_string.h"
#include "scepter/log_ids.h"
#include "scepter/text.h"
#include "service/service.h"
#include "util/digest_hex.h"

#include <openssl/x509v3.h>


namespace scepter {
namespace {

// NDES's own words: MDMs match these strings.
constexpr const char* kNdesCacheFull = "The password cache is full.";
constexpr const char* kNdesNoPermission = "You do not have sufficient permission to enroll with SCEP.";

// UTF-16LE with a byte-order mark, as NDES sends its page.
Response utf16_html(const std::string& ascii_html) {
    Response r;
    r.status = 200;
    r.content_type = "text/html; charset=utf-16";
    r.body = {0xFF, 0xFE};
    for (unsigned char c : ascii_html) {
        r.body.push_back(c);
        r.body.push_back(0);
    }
    return r;
}

std::string ndes_page(const std::string& content) {
    return "<HTML><Head><Meta HTTP-Equiv=\"Content-Type\" Content=\"text/html; charset=Unicode\">"
           "<Title>Network Device Enrollment Service</Title></Head><Body BgColor=#FFFFFF>"
           "<Font ID=locPageFont Face=\"Arial\"><P><Font ID=locPageTitleFont Face=\"Arial\" Size=+1>"
           "<B>Network Device Enrollment Service</B></Font><P>" + content + "</Font></Body></HTML>";
}

// The thumbprint as NDES prints it: upper-case hex bytes separated by spaces.
std::string spaced_hex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (!out.empty()) out += ' ';
        out += char(std::toupper(hex[i]));
        out += char(std::toupper(hex[i + 1]));
    }
    return out;
}

Claims claims_from_query(const std::map<std::string, std::string>& params) {
    Claims claims;
    for (const auto& key : claim_keys()) {
        auto it = params.find(key);
        if (it != params.end() && !it->second.empty()) claims[key] = it->second;
    }
    return claims;
}

}  // namespace

std::optional<std::string> Service::admin_requester(const Request& req) const {
    if (!req.remote_user.empty()) return req.remote_user;
    if (!req.client_cert.empty()) return "cert:" + req.client_cert;
    if (cfg_.admin.allow_without_authentication) return "ip:" + req.client_ip;
    return std::nullopt;
}

Response Service::refuse_unauthenticated(const AuditContext& ctx) const {
    Response r = text_response(403, "the admin location needs authentication by the web server\n");
    r.log(SCEPTER_LOG_WARN, SCEPTER_ID_ADMIN_UNAUTHENTICATED,
          "client " + ctx.client_ip + ": admin request refused: configure auth_basic or client certificates "
          "on this location, or set admin.allow_without_authentication if access is controlled otherwise");
    return r;
}

IssuedChallenge Service::issue_one_time(const Profile& p, const std::string& user, const std::string& requester,
                                        Claims claims, AuditContext& ctx, Response& resp) {
    ChallengeOrder order{p.name, user, requester, std::move(claims), 0};
    return scepter::issue_one_time(p, hooks_.at(p.name).policy.get(), store(), audit_, order, ctx, resp);
}

// A location that names a profile issues for that profile only: whoever may
// use it (its authentication, its address rules) was chosen for that
// profile. Serving every profile from one admin location is said explicitly
// by naming none; `?profile=` then chooses (the default profile without it).
Response Service::refuse_other_profile(const Request& req, const std::string& asked, const AuditContext& ctx) const {
    Response r = json_response(403, "{\"error\":\"this admin location issues challenges for profile '" +
                                        json_escape(req.profile) + "' only\"}");
    r.log(SCEPTER_LOG_WARN, SCEPTER_ID_ADMIN_OTHER_PROFILE,
          "client " + ctx.client_ip + ": admin request for profile " + json_quote(asked) +
              " refused: the location is bound to profile " + json_quote(req.profile));
    return r;
}

Response Service::admin_api(const Request& req, AuditContext& ctx) {
    auto requester = admin_requester(req);
    if (!requester) return refuse_unauthenticated(ctx);
    auto params = parse_query(req.query);
    if (auto op = params.find("operation"); op != params.end()) {
        if (op->second == "revoke") return admin_revoke(req, *requester, ctx);  // every profile's certificates: one CA
        if (op->second != "challenge_webhook") {
            Response r = json_response(400, "{\"error\":\"unknown operation; the admin location knows revoke and "
                                            "challenge_webhook (POST), or none for a challenge\"}");
            r.log(SCEPTER_LOG_WARN, SCEPTER_ID_ADMIN_BAD_REQUEST,
                  "client " + ctx.client_ip + ": admin request with an unknown operation, 400");
            return r;
        }
    }
    std::string profile_name = params.count("profile") ? params["profile"] : ctx.profile;
    if (!req.profile.empty() && profile_name != req.profile) return refuse_other_profile(req, profile_name, ctx);
    auto profile = cfg_.profiles.find(profile_name);
    if (profile == cfg_.profiles.end()) return json_response(404, "{\"error\":\"no such profile\"}");
    std::string user = params.count("user") && !params["user"].empty() ? params["user"] : *requester;
    ctx.profile = profile_name;
    if (params.count("operation")) return challenge_webhook(req, *requester, ctx);
    ctx.operation = "admin";
    Response resp;
    try {
        IssuedChallenge c = issue_one_time(profile->second, user, *requester, claims_from_query(params), ctx, resp);
        std::string body = "{\"challenge\":\"" + c.challenge + "\",\"expires\":\"" + iso8601_utc_millis(c.record.expires_at) +
                           "\",\"ca_thumbprint_sha256\":\"" + thumbprint(ca_.ca.cert.get(), EVP_sha256()) +
                           "\",\"ca_thumbprint_sha1\":\"" + thumbprint(ca_.ca.cert.get(), EVP_sha1()) +
                           "\",\"timestamp\":\"" + iso8601_utc_millis(c.record.created_at) + "\",\"profile\":\"" +
                           json_escape(profile_name) + "\",\"user\":\"" + json_escape(user) + "\"}";
        Response r = json_response(200, body);
        r.logs = std::move(resp.logs);
        return r;
    } catch (const ChallengeQuotaFull&) {
        return json_response(429, std::string("{\"error\":\"") + kNdesCacheFull + "\"}");
    } catch (const ChallengeRefused& e) {
        Response r = json_response(403, "{\"error\":\"" + json_escape(e.what()) + "\"}");
        r.logs = std::move(resp.logs);
        return r;
    } catch (...) {
        return request_failed(std::current_exception(), std::move(resp.logs));
    }
}

Response Service::mscep_admin(const Request& req, AuditContext& ctx) {
    auto requester = admin_requester(req);
    if (!requester) return refuse_unauthenticated(ctx);
    auto params = parse_query(req.query);
    const Profile& profile = cfg_.profiles.at(ctx.profile);
    ctx.operation = params.count("operation") ? params["operation"] : "mscep_admin";
    std::string md5 = spaced_hex(thumbprint(ca_.ca.cert.get(), EVP_md5()));
    if (ctx.operation == "NDESGetCACertThumbprint") return text_response(200, md5);
    Response resp;
    try {
        IssuedChallenge c = issue_one_time(profile, *requester, *requester, {}, ctx, resp);
        Response r = ctx.operation == "NDESGenerateChallenge"
                         ? text_response(200, c.challenge)
                         : utf16_html(ndes_page("The thumbprint (hash value) for the CA certificate is: <B> " + md5 +
                                                " </B> <P> The enrollment challenge password is: <B> " + c.challenge +
                                                " </B> <P> This password can be used only once and will expire within " +
                                                std::to_string(profile.challenge.one_time.validity_minutes) +
                                                " minutes. <P> Each enrollment requires a new challenge password. "
                                                "You can view a new challenge password by refreshing this web page."));
        r.logs = std::move(resp.logs);
        return r;
    } catch (const ChallengeQuotaFull&) {
        return utf16_html(ndes_page(kNdesCacheFull));
    } catch (const ChallengeRefused&) {
        Response r = utf16_html(ndes_page(kNdesNoPermission));
        r.logs = std::move(resp.logs);
        return r;
    } catch (...) {
        return request_failed(std::current_exception(), std::move(resp.logs));
    }
}

}  // namespace scepter
