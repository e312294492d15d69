#include "integrations/http_client.h"

#include "scepter/text.h"

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

constexpr std::size_t kMaxResponseBytes = 64 * 1024;  // the answers are a few hundred bytes (a token: a few KiB)
constexpr long kMaxConnectMs = 3000;                  // leaves time to retry a dead address

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

struct EasyDeleter {
    void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

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

SlistPtr request_headers(const HttpCall& call) {
    SlistPtr headers;
    auto add = [&headers](const std::string& line) {
        curl_slist* head = curl_slist_append(headers.get(), line.c_str());  // the same head once non-empty
        if (!head) throw std::bad_alloc();
        headers.release();
        headers.reset(head);
    };
    if (call.post) add("Content-Type: " + call.content_type);
    add("Accept: application/json");
    add("Expect:");  // no "100-continue" round trip for bodies over 1 KiB
    add("client-request-id: " + new_request_id());
    for (const auto& line : call.headers) add(line);
    return headers;
}

}  // namespace

std::string HttpReply::why() const {
    if (too_large) return "the answer is larger than " + std::to_string(kMaxResponseBytes) + " bytes";
    if (!transport_ok) return error;
    return "HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + excerpt(body));
}

std::string HttpReply::tries() const {
    return attempts > 1 ? " (" + std::to_string(attempts) + " attempts)" : "";
}

std::string utf8_truncate(const std::string& text, std::size_t max) {
    std::string clean = utf8_sanitize(text);
    if (clean.size() <= max) return clean;
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;
    return clean.substr(0, cut);
}

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

std::string excerpt(const std::string& body) {
    std::string out;
    for (char c : body.substr(0, 160)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (body.size() > 160) out += "...";
    return out;
}

std::string new_request_id() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("the random generator failed");
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

// What all the calls of one client share: the libcurl share handle (DNS
// cache and TLS sessions, so that a call resumes the previous TLS session
// instead of a full handshake) and the locks libcurl asks for. The
// connection cache is deliberately not shared: libcurl documents that as
// unsafe between concurrent threads.
struct HttpClient::Shared {
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

    HttpReply send_once(const HttpCall& call, const HttpOptions& opt, long timeout_ms) {
        HttpReply reply;
        EasyPtr h(curl_easy_init());
        if (!h) {
            reply.error = "libcurl could not start a transfer";
            return reply;
        }
        SlistPtr headers = request_headers(call);
        char errbuf[CURL_ERROR_SIZE] = {0};
        Sink sink{&reply.body, &reply.too_large};
        CURL* e = h.get();
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for DNS timeouts
        curl_easy_setopt(e, CURLOPT_SHARE, share);
        curl_easy_setopt(e, CURLOPT_URL, call.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(e, CURLOPT_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        if (call.post) {
            curl_easy_setopt(e, CURLOPT_POST, 1L);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, call.body.data());
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(call.body.size()));
        } else {
            curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        }
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
        curl_easy_setopt(e, CURLOPT_USERAGENT, opt.user_agent.c_str());
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, kMaxConnectMs));
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(kMaxResponseBytes));
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &write_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        if (!opt.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, opt.ca_file.c_str());

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
};

HttpClient::HttpClient() {
    global_init();
    shared_ = std::make_unique<Shared>();
}

HttpClient::~HttpClient() = default;

HttpReply HttpClient::send(const HttpCall& call, const HttpOptions& opt) {
    const auto deadline = Clock::now() + milliseconds(opt.timeout_ms);
    HttpReply reply;
    for (int attempt = 0; attempt <= opt.retries; ++attempt) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
        if (left < 1) break;  // libcurl would take 0 as "no timeout"
        reply = shared_->send_once(call, opt, long(left));
        reply.attempts = attempt + 1;
        if (!reply.retryable() || attempt == opt.retries) break;
        // A short, growing pause (100, 200, 400 ms...) that never overruns the deadline.
        auto pause = milliseconds(std::min(100L << std::min(attempt, 4), 1000L));
        if (Clock::now() + pause >= deadline) break;
        std::this_thread::sleep_for(pause);
    }
    if (reply.attempts == 0) reply.error = "no time left to send the request";
    return reply;
}

}  // namespace scepter
