#include "integrations/intune/token_client.h"

#include "integrations/external_validation.h"
#include "integrations/intune/client_assertion.h"
#include "integrations/intune/json_tree.h"
#include "scepter/log_ids.h"
#include "util/html_text.h"
#include "util/json_flat.h"

#include <algorithm>
#include <ctime>

namespace scepter {
namespace {

constexpr std::size_t kMaxErrorText = 300;
constexpr long kMaxLifetime = 24 * 3600;

[[noreturn]] void refused(const std::string& why) {
    throw TargetError("IntuneTokenRefused", SCEPTER_ID_INTUNE_TOKEN_FAILED, why);
}

// Entra ID's {"error": "...", "error_description": "AADSTS...: ..."}.
std::string entra_error(const HttpReply& reply) {
    auto error = json_top_string(reply.body, "error");
    if (!error) return reply.why();
    auto description = json_top_string(reply.body, "error_description");
    return "HTTP " + std::to_string(reply.status) + ": " +
           utf8_truncate(*error + (description ? ": " + *description : ""), kMaxErrorText);
}

// The token and how long it lasts; refreshed a little before its end (at
// most 5 minutes, at most half its life), so no call carries a token that
// expires on the way.
std::pair<std::string, long> read_token(const std::string& body) {
    FlatJsonObject answer;
    try {
        answer = parse_flat_json(body);
    } catch (const JsonError& e) {
        refused(std::string("the token endpoint's answer is not a flat JSON object (") + e.what() + ")");
    }
    const std::string* token = json_string_value(answer, "access_token");
    if (!token || token->empty()) refused("the token endpoint's answer has no access_token");
    const std::string* type = json_string_value(answer, "token_type");
    if (type && *type != "Bearer" && *type != "bearer") refused("the token endpoint gave a token of type " + utf8_truncate(*type, 40));
    auto it = answer.find("expires_in");
    long life = 0;
    if (it != answer.end() && (it->second.type == JsonScalar::Type::Number || it->second.is_string()))
        life = std::strtol(it->second.text.c_str(), nullptr, 10);
    if (life <= 0) refused("the token endpoint's answer has no positive expires_in");
    if (token->find_first_of(" \t\r\n") != std::string::npos) refused("the token holds white space");
    return {*token, std::min(life, kMaxLifetime)};
}

}  // namespace

TokenClient::TokenClient(TokenCredentials credentials, HttpClient& http, HttpOptions options)
    : cred_(std::move(credentials)), http_(http), options_(std::move(options)) {}

std::string TokenClient::form(const std::string& scope) const {
    std::string body = "grant_type=client_credentials&client_id=" + url_encode(cred_.client_id) +
                       "&scope=" + url_encode(scope);
    if (cred_.key) {
        std::string jwt = client_assertion(cred_.cert.get(), cred_.key.get(), cred_.client_id, cred_.token_url,
                                           std::int64_t(std::time(nullptr)));
        return body + "&client_assertion_type=" + url_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
               "&client_assertion=" + url_encode(jwt);
    }
    return body + "&client_secret=" + url_encode(cred_.client_secret);
}

TokenClient::Cached TokenClient::fetch(const std::string& scope) {
    HttpReply reply = http_.send({true, cred_.token_url, form(scope), "application/x-www-form-urlencoded", {}}, options_);
    const std::string where = "POST " + redact_url(cred_.token_url) + " (scope " + scope + ")";
    if (!reply.success()) {
        if (reply.retryable())
            throw TargetError("IntuneTokenUnavailable", SCEPTER_ID_INTUNE_TOKEN_FAILED,
                              where + ": " + reply.why() + reply.tries());
        refused(where + ": " + entra_error(reply));
    }
    auto [token, life] = read_token(reply.body);
    long margin = std::min(300L, life / 2);
    return {token, Clock::now() + std::chrono::seconds(life - margin)};
}

std::string TokenClient::token(const std::string& scope) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cache_.find(scope);
    if (it != cache_.end() && Clock::now() < it->second.refresh_at) return it->second.token;
    Cached fresh = fetch(scope);
    cache_[scope] = fresh;
    return fresh.token;
}

void TokenClient::forget(const std::string& scope) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    cache_.erase(scope);
}

}  // namespace scepter
