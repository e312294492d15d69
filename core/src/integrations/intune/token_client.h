// OAuth 2.0 client credentials against Entra ID's v2.0 token endpoint
// ({authority}/{tenant}/oauth2/v2.0/token), with a client secret or a
// signed client assertion, one cached token per scope until shortly before
// it expires. Thread-safe: one fetch at a time, the others wait for it and
// take its token. The tokens and the secret are never put into a message.
#pragma once

#include "integrations/http_client.h"
#include "scepter/ossl.h"

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace scepter {

struct TokenCredentials {
    std::string token_url;
    std::string client_id;
    std::string client_secret;  // either this ...
    ossl::X509Ptr cert;         // ... or these two
    ossl::PKey key;
};

class TokenClient {
   public:
    TokenClient(TokenCredentials credentials, HttpClient& http, HttpOptions options);

    // A token for `scope`, cached or fresh. Throws TargetError:
    // IntuneTokenRefused (Entra ID answered 4xx, or 2xx without a token) or
    // IntuneTokenUnavailable (unreachable, 5xx, 429 after the retries).
    std::string token(const std::string& scope);
    // Drops the cached token of `scope` (the service said 401).
    void forget(const std::string& scope) noexcept;

    const std::string& token_url() const noexcept { return cred_.token_url; }

   private:
    using Clock = std::chrono::steady_clock;
    struct Cached {
        std::string token;
        Clock::time_point refresh_at;
    };
    Cached fetch(const std::string& scope);
    std::string form(const std::string& scope) const;

    TokenCredentials cred_;
    HttpClient& http_;
    HttpOptions options_;
    std::mutex mutex_;
    std::map<std::string, Cached> cache_;
};

}  // namespace scepter
