#include "integrations/intune/intune_session.h"

#include "integrations/intune/json_tree.h"
#include "scepter/log_ids.h"

#include <cctype>

namespace scepter {
namespace {

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

[[noreturn]] void discovery_failed(const std::string& why) {
    throw TargetError("IntuneDiscoveryFailed", SCEPTER_ID_INTUNE_DISCOVERY_FAILED, why);
}

TokenCredentials credentials(const IntuneSettings& s, X509* cert, EVP_PKEY* key) {
    TokenCredentials c;
    c.token_url = intune_token_url(s);
    c.client_id = s.client_id;
    c.client_secret = s.client_secret;
    if (cert && key) {
        X509_up_ref(cert);
        c.cert.reset(cert);
        EVP_PKEY_up_ref(key);
        c.key.reset(key);
    }
    return c;
}

std::string without_trailing_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

}  // namespace

std::string intune_token_url(const IntuneSettings& s) {
    return s.authority + "/" + s.tenant + "/oauth2/v2.0/token";
}

IntuneSession::IntuneSession(const IntuneSettings& settings, X509* cert, EVP_PKEY* key)
    : settings_(settings),
      options_{settings.timeout_ms, settings.retries, settings.caller_info, settings.ca_file},
      tokens_(credentials(settings, cert, key), http_, options_),
      intune_scope_(settings.resource + "/.default"),  // the libraries' "https://api.manage.microsoft.com//.default"
      graph_scope_(settings.graph + "/.default"),
      discovery_url_(settings.graph + "/v1.0/servicePrincipals/appId=" + kIntuneAppId + "/endpoints") {
    if (!cert && settings.client_secret.empty())
        throw std::invalid_argument("intune: neither a client secret nor a client certificate is loaded");
}

std::map<std::string, std::string> IntuneSession::discover() {
    HttpCall call{false, discovery_url_, "", "", {"Authorization: Bearer " + tokens_.token(graph_scope_)}};
    HttpReply reply = http_.send(call, options_);
    if (reply.transport_ok && reply.status == 401) {  // a stale Graph token: once more with a fresh one
        tokens_.forget(graph_scope_);
        call.headers = {"Authorization: Bearer " + tokens_.token(graph_scope_)};
        reply = http_.send(call, options_);
    }
    const std::string where = "GET " + redact_url(discovery_url_);
    if (!reply.success()) discovery_failed(where + ": " + reply.why() + reply.tries());
    try {
        return json_endpoint_map(reply.body);
    } catch (const std::runtime_error& e) {
        discovery_failed(where + ": " + e.what() + ": " + excerpt(reply.body));
    }
}

std::string IntuneSession::endpoint(const std::string& service) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!endpoints_) endpoints_ = discover();
    auto it = endpoints_->find(lower(service));
    if (it == endpoints_->end() || it->second.rfind("https://", 0) != 0) {
        endpoints_.reset();
        discovery_failed("Graph names no https endpoint for " + service + " (GET " + redact_url(discovery_url_) + ")");
    }
    return it->second;
}

ValidationTarget::Call IntuneSession::intune_call(const char* service, const std::string& path,
                                                  const std::string& api_version) {
    std::string base = without_trailing_slash(endpoint(service));
    return {base + path,
            {"Authorization: Bearer " + tokens_.token(intune_scope_), "api-version: " + api_version,
             "UserAgent: " + settings_.caller_info}};
}

ValidationTarget::Call IntuneSession::prepare(const std::string& action) {
    return intune_call(kScepValidationService, "/ScepActions/" + action, settings_.api_version);
}

IntuneSession::PkiReply IntuneSession::post_pki(const std::string& action, const std::string& body,
                                                const std::string& user_agent) {
    HttpOptions options = options_;
    options.user_agent = user_agent;
    for (int round = 0;; ++round) {
        Call c = intune_call(kPkiConnectorService, "/CertificateAuthorityRequests/" + action,
                             settings_.revocation_api_version);
        HttpReply reply = http_.send({true, c.url, body, "application/json", std::move(c.headers)}, options);
        if (reply.transport_ok && reply.status == 401 && round == 0) {
            unauthorized();
            continue;
        }
        if (!reply.success()) failed();
        return {c.url, std::move(reply)};
    }
}

void IntuneSession::unauthorized() noexcept { tokens_.forget(intune_scope_); }

void IntuneSession::failed() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    endpoints_.reset();
}

}  // namespace scepter
