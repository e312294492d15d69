// External validation of enrollments, in the shape of Microsoft Intune's
// third-party CA API (ScepActions/validateRequest, successNotification,
// failureNotification; see docs and microsoft/Intune-Resource-Access):
//
//   validate        POST validate_url
//                   {"request":{"transactionId":"…","certificateRequest":"<base64 DER PKCS#10>",
//                               "callerInfo":"…"}}
//                   answered {"code":"Success"|"<ErrorCode>","errorDescription":"…"}
//   notify_success  POST success_url
//                   {"notification":{"transactionId":"…","certificateRequest":"…",
//                                    "certificateThumbprint":"…","certificateSerialNumber":"…",
//                                    "certificateExpirationDateUtc":"2026-11-25T06:30:00.000Z",
//                                    "issuingCertificateAuthority":"…","callerInfo":"…"}}
//   notify_failure  POST failure_url
//                   {"notification":{"transactionId":"…","certificateRequest":"…",
//                                    "hResult":2147942405,"errorDescription":"<= 255 bytes",
//                                    "callerInfo":"…"}}
//
// Intune's rule is notify-before-respond: a failed validation, a validation
// service that cannot be reached, and a failed success notification all mean
// the certificate must not be handed out. This class only reports; the
// caller enforces.
//
// The calls block: they run on the worker threads that do PKIOperation work,
// never on a web server's event loop (integrations/http_client.h). Each
// call, retries included, ends within timeout_ms (plus a few milliseconds),
// not counting what a target spends on a token or discovery. An
// ExternalValidator is thread-safe.
//
// With a ValidationTarget (a real Intune tenant: integrations/intune/), the
// URLs are found at run time and every call carries the target's headers
// (a bearer token, api-version); a 401 makes the target drop its token and
// the call is sent once more, and any other HTTP error makes it forget the
// endpoints it discovered.
#pragma once

#include "integrations/http_client.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace scepter {

// Where the calls go and what they carry when that is found at run time.
class ValidationTarget {
   public:
    struct Call {
        std::string url;
        std::vector<std::string> headers;  // "Name: value", secrets among them: never logged
    };
    virtual ~ValidationTarget() = default;
    // action: "validateRequest", "successNotification" or "failureNotification".
    // Throws TargetError when the URL or the credentials cannot be had.
    virtual Call prepare(const std::string& action) = 0;
    // The service answered 401: the credentials are stale.
    virtual void unauthorized() noexcept = 0;
    // The service answered another error or could not be reached.
    virtual void failed() noexcept = 0;
};

// Why a target could not prepare a call: a code for failInfoText (e.g.
// "IntuneTokenRefused") and the log line's stable ID.
class TargetError : public std::runtime_error {
   public:
    TargetError(std::string code, const char* log_id, const std::string& why)
        : std::runtime_error(code + ": " + why), code_(std::move(code)), log_id_(log_id), why_(why) {}
    const std::string& code() const noexcept { return code_; }
    const char* log_id() const noexcept { return log_id_; }
    const std::string& why() const noexcept { return why_; }

   private:
    std::string code_;
    const char* log_id_;
    std::string why_;
};

struct ExternalValidationConfig {
    std::string validate_url;  // empty: validate() refuses (fails closed)
    std::string success_url;   // empty: notify_success() does nothing
    std::string failure_url;   // empty: notify_failure() does nothing
    int timeout_ms = 5000;     // the whole call, retries included
    int retries = 2;           // further attempts after a transport error, HTTP 5xx or 429,
                               // never after a definite answer
    std::string caller_info = "Scepter";  // "callerInfo", and the User-Agent
    std::vector<std::string> headers;     // extra request headers, "Name: value"
    std::string ca_file;                  // PEM CA bundle for https; empty: the system's
    std::shared_ptr<ValidationTarget> target;  // set: the URLs above are unused
};

// ok is true only for code "Success". When the service could not give an
// answer, code is "ServiceUnavailable" (unreachable, timed out, 5xx/429 after
// the retries) or "BadResponse" (another HTTP status, or a body that is not
// {"code": "...", ...}); description then says why.
struct ValidationOutcome {
    bool ok = false;
    std::string code;
    std::string description;
    const char* log_id = nullptr;  // set when the failure deserves its own log line (a TargetError's)
};

class ExternalValidator {
   public:
    // Throws std::invalid_argument for a URL that is not http(s)://, a
    // header that is not "Name: value" on one line, a timeout <= 0 or
    // retries outside 0..10; std::runtime_error when libcurl cannot start.
    explicit ExternalValidator(ExternalValidationConfig cfg);
    ~ExternalValidator();
    ExternalValidator(const ExternalValidator&) = delete;
    ExternalValidator& operator=(const ExternalValidator&) = delete;

    const ExternalValidationConfig& config() const noexcept { return cfg_; }

    // Never throws for anything the service does; see ValidationOutcome.
    ValidationOutcome validate(const std::string& transaction_id, const std::vector<unsigned char>& csr_der);

    // Throw std::runtime_error unless the service answers 2xx (after the
    // retries). A 2xx whose body is a JSON object with a "code" other than
    // "Success" throws too: that is how Intune refuses a notification. Any
    // other 2xx body (empty, text, JSON without "code") counts as received.
    // sha1_thumbprint and serial_hex are sent as given; not_after_unix
    // becomes "certificateExpirationDateUtc", ISO 8601 with milliseconds.
    void notify_success(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                        const std::string& sha1_thumbprint, const std::string& serial_hex,
                        std::int64_t not_after_unix, const std::string& issuing_ca);
    // hresult goes out as a JSON number (its unsigned 32-bit value, as
    // Intune's long); description is cut to 255 bytes on a UTF-8 boundary.
    void notify_failure(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                        std::uint32_t hresult, const std::string& description);

   private:
    struct Sent {
        std::string url;
        HttpReply reply;
    };
    Sent call(const std::string& action, const std::string& fixed_url, const std::string& body);

    ExternalValidationConfig cfg_;
    HttpOptions options_;
    std::unique_ptr<HttpClient> http_;
};

// The bodies, exactly as POSTed (exposed for tests and for the CLI).
std::string validation_request_body(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                    const std::string& caller_info);
std::string success_notification_body(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                      const std::string& sha1_thumbprint, const std::string& serial_hex,
                                      std::int64_t not_after_unix, const std::string& issuing_ca,
                                      const std::string& caller_info);
std::string failure_notification_body(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                      std::uint32_t hresult, const std::string& description,
                                      const std::string& caller_info);

}  // namespace scepter
