// One profile's conversation with a real Intune tenant, per worker: Entra ID
// tokens (token_client.h), the service endpoints found through Microsoft
// Graph, and what each ScepActions call carries. It is the
// ValidationTarget of the profile's ExternalValidator, which sends the
// calls (external_validation.h).
//
// Discovery: GET {graph}/v1.0/servicePrincipals/appId=0000000a-0000-0000-c000-000000000000/endpoints
// with a Graph token (scope {graph}/.default), read into a map keyed by
// providerName in lower case (ScepRequestValidationFEService,
// PkiConnectorFEService); cached until a call to Intune fails, then found
// again, as Microsoft's libraries do.
// Each ScepActions call: POST {ScepRequestValidationFEService}/ScepActions/{action}
// with Authorization: Bearer (scope {resource}/.default), api-version, and
// Java's "UserAgent" header; client-request-id is added per attempt by the
// HTTP client.
// Revocation sync (post_pki): POST {PkiConnectorFEService}/CertificateAuthorityRequests/{action}
// with the same token and headers, api-version revocation_api_version.
#pragma once

#include "integrations/external_validation.h"
#include "integrations/intune/token_client.h"
#include "scepter/config.h"

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace scepter {

constexpr const char* kIntuneAppId = "0000000a-0000-0000-c000-000000000000";
constexpr const char* kScepValidationService = "ScepRequestValidationFEService";
constexpr const char* kPkiConnectorService = "PkiConnectorFEService";

class IntuneSession : public ValidationTarget {
   public:
    // cert and key: the certificate credential, when the settings name one
    // (borrowed references are taken; the session keeps its own).
    IntuneSession(const IntuneSettings& settings, X509* cert, EVP_PKEY* key);

    Call prepare(const std::string& action) override;
    void unauthorized() noexcept override;
    void failed() noexcept override;

    // The stages on their own, for `scepter intune check`. Throw TargetError.
    std::string intune_token() { return tokens_.token(intune_scope_); }
    std::string graph_token() { return tokens_.token(graph_scope_); }
    // The URI of `service` (any case), discovering when nothing is cached.
    std::string endpoint(const std::string& service);

    const std::string& discovery_url() const noexcept { return discovery_url_; }

    // One PkiConnectorFEService call (downloadRevocationRequests,
    // uploadRevocationResults), sent like a ScepActions call: a 401 drops
    // the token and sends it once more, any other failure forgets the
    // endpoints. user_agent: the User-Agent of this call. Throws TargetError
    // when there is no token or endpoint; any HTTP answer is returned.
    struct PkiReply {
        std::string url;
        HttpReply reply;
    };
    PkiReply post_pki(const std::string& action, const std::string& body, const std::string& user_agent);

   private:
    std::map<std::string, std::string> discover();
    // The URL under `service` and the headers every Intune call carries.
    Call intune_call(const char* service, const std::string& path, const std::string& api_version);

    IntuneSettings settings_;
    HttpOptions options_;
    HttpClient http_;
    TokenClient tokens_;
    std::string intune_scope_;
    std::string graph_scope_;
    std::string discovery_url_;
    std::mutex mutex_;
    std::optional<std::map<std::string, std::string>> endpoints_;
};

// The token endpoint of the settings: {authority}/{tenant}/oauth2/v2.0/token.
std::string intune_token_url(const IntuneSettings& s);

}  // namespace scepter
