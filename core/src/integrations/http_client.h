// The one HTTP client of the integrations (libcurl): the validation
// service's calls, and Intune's token endpoint and Graph discovery. Calls
// block: they run on the worker threads that do PKIOperation work, never on
// a web server's event loop. An HttpClient is thread-safe: every call uses
// its own easy handle; DNS answers and TLS sessions are shared between the
// calls (under a lock).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace scepter {

struct HttpCall {
    bool post = true;  // false: GET (and no body)
    std::string url;
    std::string body;
    std::string content_type = "application/json";
    // Further request headers, "Name: value". A fresh client-request-id
    // (a random UUID) is added to every attempt.
    std::vector<std::string> headers;
};

struct HttpOptions {
    int timeout_ms = 5000;  // the whole call, retries included
    int retries = 2;        // further attempts after a transport error, HTTP 5xx or 429
    std::string user_agent = "Scepter";
    std::string ca_file;    // PEM CA bundle for https; empty: the system's
};

struct HttpReply {
    bool transport_ok = false;  // an HTTP status was received
    long status = 0;
    std::string body;
    bool too_large = false;
    std::string error;  // the transport error when !transport_ok
    int attempts = 0;

    bool success() const { return transport_ok && status >= 200 && status <= 299; }
    bool retryable() const { return !too_large && (!transport_ok || status >= 500 || status == 429); }
    // Why it is not a success, for a message: the transport error, or the
    // status and a printable excerpt of the body.
    std::string why() const;
    // " (N attempts)" after more than one, else "".
    std::string tries() const;
};

class HttpClient {
   public:
    // Throws std::runtime_error when libcurl cannot start.
    HttpClient();
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Up to 1 + retries attempts, all within timeout_ms; never throws for
    // anything the server does.
    HttpReply send(const HttpCall& call, const HttpOptions& options);

   private:
    struct Shared;
    std::unique_ptr<Shared> shared_;
};

// The URL for messages: no user:password@, no query string (either may hold
// a secret).
std::string redact_url(const std::string& url);

// A short, printable excerpt of a body for an error message.
std::string excerpt(const std::string& body);

// A random (version 4) UUID: Intune's per-call "client-request-id", a JWT's jti.
std::string new_request_id();

// Cuts text to at most max bytes without splitting a UTF-8 sequence.
std::string utf8_truncate(const std::string& text, std::size_t max);

// Throws std::invalid_argument unless url is http(s):// without white space.
void check_url(const std::string& url, const char* name);

}  // namespace scepter
