#include "integrations/external_validation.h"

#include "scepter/text.h"
#include "util/header_line.h"
#include "util/json_flat.h"

#include <curl/curl.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace scepter {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxResponseBytes = 64 * 1024;  // the answers are a few hundred bytes
constexpr long kMaxConnectMs = 3000;                  // leaves time to retry a dead address
constexpr std::size_t kMaxDescriptionBytes = 1024;    // what we keep of a service's errorDescription
constexpr std::size_t kMaxFailureDescriptionBytes = 255;  // Intune's limit for failureNotification

// libcurl's global state, set up once per process. curl_global_init is not
// safe to race, hence call_once; curl_global_cleanup is never called (the
// module may be unloaded and reloaded, and other code in the process may use
// libcurl too). With OpenSSL >= 1.1.0 curl's TLS init is a single
// OPENSSL_init_ssl() call, which OpenSSL runs once per process: when nginx or
// httpd have initialised and configured OpenSSL already, it changes nothing
// (no re-initialisation, no second config load, no locking callbacks as with
// OpenSSL 1.0); with OpenSSL 3 the only visible effect is that the libssl
// error strings are loaded if they were not.
void global_init() {
    static std::once_flag once;
    static CURLcode result = CURLE_OK;
    std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (result != CURLE_OK) {
        throw std::runtime_error(std::string("libcurl could not be initialised: ") + curl_easy_strerror(result));
    }
}

// Cuts text to at most max bytes without splitting a UTF-8 sequence.
std::string utf8_truncate(const std::string& text, std::size_t max) {
    std::string clean = utf8_sanitize(text);
    if (clean.size() <= max) return clean;
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;
    return clean.substr(0, cut);
}

// The URL for messages: no user:password@, no query string (either may hold
// a secret).
std::string redact_url(const std::string& url) {
    std::string out = url.substr(0, url.find_first_of("?#"));
    auto scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        auto host_start = scheme_end + 3;
        auto at = out.find('@', host_start);
        auto slash = out.find('/', host_start);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) out.erase(host_start, at + 1 - host_start);
    }
    return out;
}

// A short, printable excerpt of a body for an error message.
std::string excerpt(const std::string& body) {
    std::string out;
    for (char c : body.substr(0, 160)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (body.size() > 160) out += "...";
    return out;
}

// A random (version 4) UUID: Intune's per-call "client-request-id".
std::string new_request_id() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return "00000000-0000-4000-8000-000000000000";
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    char out[37];
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

void check_url(const std::string& url, const char* name) {
    if (url.empty()) return;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        throw std::invalid_argument(std::string(name) + " must start with http:// or https://");
    }
    if (url.find_first_of(" \t\r\n") != std::string::npos) {
        throw std::invalid_argument(std::string(name) + " must not contain white space");
    }
}

struct EasyDeleter {
    void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

struct Reply {
    bool transport_ok = false;  // an HTTP status was received
    long status = 0;
    std::string body;
    bool too_large = false;
    std::string error;  // the transport error when !transport_ok
    int attempts = 0;

    bool success() const { return transport_ok && status >= 200 && status <= 299; }
    bool retryable() const { return !too_large && (!transport_ok || status >= 500 || status == 429); }
    std::string why() const {
        if (too_large) return "the answer is larger than " + std::to_string(kMaxResponseBytes) + " bytes";
        if (!transport_ok) return error;
        return "HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + excerpt(body));
    }
};

struct Sink {
    std::string* body;
    bool* too_large;
};

size_t write_body(char* data, size_t size, size_t nmemb, void* user) {
    auto* sink = static_cast<Sink*>(user);
    std::size_t n = size * nmemb;
    if (sink->body->size() + n > kMaxResponseBytes) {
        *sink->too_large = true;
        return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
    }
    sink->body->append(data, n);
    return n;
}

}  // namespace

// What all the calls of one validator share: the libcurl share handle (DNS
// cache and TLS sessions, so that a call resumes the previous TLS session
// instead of a full handshake) and the locks libcurl asks for. The
// connection cache is deliberately not shared: libcurl documents that as
// unsafe between concurrent threads.
struct ExternalValidator::Shared {
    CURLSH* share = nullptr;
    std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
        static_cast<Shared*>(user)->locks[std::size_t(data)].lock();
    }
    static void unlock(CURL*, curl_lock_data data, void* user) {
        static_cast<Shared*>(user)->locks[std::size_t(data)].unlock();
    }

    Shared() {
        share = curl_share_init();
        if (!share) throw std::runtime_error("libcurl could not create a share handle");
        curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Shared::lock);
        curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Shared::unlock);
        curl_share_setopt(share, CURLSHOPT_USERDATA, this);
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    ~Shared() { curl_share_cleanup(share); }

    Reply post_once(const ExternalValidationConfig& cfg, const std::string& url, const std::string& body,
                    long timeout_ms) {
        Reply reply;
        EasyPtr h(curl_easy_init());
        if (!h) {
            reply.error = "libcurl could not start a transfer";
            return reply;
        }
        SlistPtr headers;
        auto add_header = [&headers](const std::string& line) {
            curl_slist* head = curl_slist_append(headers.get(), line.c_str());  // the same head once non-empty
            if (!head) throw std::bad_alloc();
            headers.release();
            headers.reset(head);
        };
        add_header("Content-Type: application/json");
        add_header("Accept: application/json");
        add_header("Expect:");  // no "100-continue" round trip for bodies over 1 KiB
        add_header("client-request-id: " + new_request_id());
        for (const auto& line : cfg.headers) add_header(line);

        char errbuf[CURL_ERROR_SIZE] = {0};
        Sink sink{&reply.body, &reply.too_large};
        CURL* e = h.get();
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for DNS timeouts
        curl_easy_setopt(e, CURLOPT_SHARE, share);
        curl_easy_setopt(e, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(e, CURLOPT_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
        curl_easy_setopt(e, CURLOPT_USERAGENT, cfg.caller_info.c_str());
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, kMaxConnectMs));
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(kMaxResponseBytes));
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &write_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        if (!cfg.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, cfg.ca_file.c_str());

        CURLcode rc = curl_easy_perform(e);
        if (rc == CURLE_FILESIZE_EXCEEDED) reply.too_large = true;
        if (rc == CURLE_OK) {
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply.status);
            reply.transport_ok = true;
        } else {
            reply.error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        }
        return reply;
    }

    // Up to 1 + retries attempts, all within cfg.timeout_ms.
    Reply post(const ExternalValidationConfig& cfg, const std::string& url, const std::string& body) {
        const auto deadline = Clock::now() + milliseconds(cfg.timeout_ms);
        Reply reply;
        for (int attempt = 0; attempt <= cfg.retries; ++attempt) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
            if (left < 1) break;  // libcurl would take 0 as "no timeout"
            reply = post_once(cfg, url, body, long(left));
            reply.attempts = attempt + 1;
            if (!reply.retryable() || attempt == cfg.retries) break;
            // A short, growing pause (100, 200, 400 ms...) that never overruns the deadline.
            auto pause = milliseconds(std::min(100L << std::min(attempt, 4), 1000L));
            auto now = Clock::now();
            if (now + pause >= deadline) break;
            std::this_thread::sleep_for(pause);
        }
        if (reply.attempts == 0) reply.error = "no time left to send the request";
        return reply;
    }
};

std::string validation_request_body(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                    const std::string& caller_info) {
    return "{\"request\":{\"transactionId\":" + json_quote(transaction_id) +
           ",\"certificateRequest\":" + json_quote(base64_encode(csr_der)) + ",\"callerInfo\":" + json_quote(caller_info) +
           "}}";
}

std::string success_notification_body(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                      const std::string& sha1_thumbprint, const std::string& serial_hex,
                                      std::int64_t not_after_unix, const std::string& issuing_ca,
                                      const std::string& caller_info) {
    return "{\"notification\":{\"transactionId\":" + json_quote(transaction_id) +
           ",\"certificateRequest\":" + json_quote(base64_encode(csr_der)) +
           ",\"certificateThumbprint\":" + json_quote(sha1_thumbprint) +
           ",\"certificateSerialNumber\":" + json_quote(serial_hex) +
           ",\"certificateExpirationDateUtc\":" + json_quote(iso8601_utc_millis(not_after_unix)) +
           ",\"issuingCertificateAuthority\":" + json_quote(issuing_ca) + ",\"callerInfo\":" + json_quote(caller_info) +
           "}}";
}

std::string failure_notification_body(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                      std::uint32_t hresult, const std::string& description,
                                      const std::string& caller_info) {
    return "{\"notification\":{\"transactionId\":" + json_quote(transaction_id) +
           ",\"certificateRequest\":" + json_quote(base64_encode(csr_der)) + ",\"hResult\":" + std::to_string(hresult) +
           ",\"errorDescription\":" + json_quote(utf8_truncate(description, kMaxFailureDescriptionBytes)) +
           ",\"callerInfo\":" + json_quote(caller_info) + "}}";
}

ExternalValidator::ExternalValidator(ExternalValidationConfig cfg) : cfg_(std::move(cfg)) {
    check_url(cfg_.validate_url, "validate_url");
    check_url(cfg_.success_url, "success_url");
    check_url(cfg_.failure_url, "failure_url");
    if (cfg_.timeout_ms <= 0) throw std::invalid_argument("timeout_ms must be positive");
    if (cfg_.retries < 0 || cfg_.retries > 10) throw std::invalid_argument("retries must be between 0 and 10");
    for (std::size_t i = 0; i < cfg_.headers.size(); ++i) {
        // by position, not by text: the value may be a credential
        std::string problem = header_line_problem(cfg_.headers[i]);
        if (!problem.empty()) throw std::invalid_argument("header " + std::to_string(i + 1) + " " + problem);
    }
    if (cfg_.caller_info.find_first_of("\r\n") != std::string::npos) {
        throw std::invalid_argument("caller_info must be one line");
    }
    global_init();
    shared_ = std::make_unique<Shared>();
}

ExternalValidator::~ExternalValidator() = default;

ValidationOutcome ExternalValidator::validate(const std::string& transaction_id,
                                              const std::vector<unsigned char>& csr_der) {
    if (cfg_.validate_url.empty()) return {false, "ServiceUnavailable", "no validation URL is configured"};
    const std::string where = "POST " + redact_url(cfg_.validate_url);
    Reply reply = shared_->post(cfg_, cfg_.validate_url, validation_request_body(transaction_id, csr_der, cfg_.caller_info));
    std::string tries = reply.attempts > 1 ? " (" + std::to_string(reply.attempts) + " attempts)" : "";
    if (!reply.success()) {
        bool unavailable = reply.retryable() || reply.attempts == 0;
        return {false, unavailable ? "ServiceUnavailable" : "BadResponse", where + ": " + reply.why() + tries};
    }
    FlatJsonObject answer;
    try {
        answer = parse_flat_json(reply.body);
    } catch (const JsonError& e) {
        return {false, "BadResponse",
                where + ": the answer is not a flat JSON object (" + e.what() + "): " + excerpt(reply.body)};
    }
    const std::string* code = json_string_value(answer, "code");
    if (!code || code->empty()) {
        return {false, "BadResponse", where + ": the answer has no \"code\": " + excerpt(reply.body)};
    }
    const std::string* description = json_string_value(answer, "errorDescription");
    std::string text = description ? utf8_truncate(*description, kMaxDescriptionBytes) : "";
    return {*code == "Success", *code, text};
}

namespace {

// Throws unless the notification was received (see the header).
void check_notification(const Reply& reply, const std::string& what, const std::string& url) {
    std::string where = what + " (POST " + redact_url(url) + ")";
    std::string tries = reply.attempts > 1 ? " (" + std::to_string(reply.attempts) + " attempts)" : "";
    if (!reply.success()) throw std::runtime_error(where + " failed: " + reply.why() + tries);
    FlatJsonObject answer;
    try {
        answer = parse_flat_json(reply.body);
    } catch (const JsonError&) {
        return;  // not JSON: a 2xx is all a plain webhook can say
    }
    const std::string* code = json_string_value(answer, "code");
    if (code && *code != "Success") {
        const std::string* description = json_string_value(answer, "errorDescription");
        throw std::runtime_error(where + " refused: " + utf8_truncate(*code, 128) +
                                 (description && !description->empty()
                                      ? ": " + utf8_truncate(*description, kMaxDescriptionBytes)
                                      : ""));
    }
}

}  // namespace

void ExternalValidator::notify_success(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                       const std::string& sha1_thumbprint, const std::string& serial_hex,
                                       std::int64_t not_after_unix, const std::string& issuing_ca) {
    if (cfg_.success_url.empty()) return;
    std::string body = success_notification_body(transaction_id, csr_der, sha1_thumbprint, serial_hex, not_after_unix,
                                                 issuing_ca, cfg_.caller_info);
    check_notification(shared_->post(cfg_, cfg_.success_url, body), "the success notification", cfg_.success_url);
}

void ExternalValidator::notify_failure(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                       std::uint32_t hresult, const std::string& description) {
    if (cfg_.failure_url.empty()) return;
    std::string body = failure_notification_body(transaction_id, csr_der, hresult, description, cfg_.caller_info);
    check_notification(shared_->post(cfg_, cfg_.failure_url, body), "the failure notification", cfg_.failure_url);
}

}  // namespace scepter
