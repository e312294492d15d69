#include "integrations/external_validation.h"

#include "scepter/text.h"
#include "util/header_line.h"
#include "util/json_flat.h"

namespace scepter {
namespace {

constexpr std::size_t kMaxDescriptionBytes = 1024;        // what we keep of a service's errorDescription
constexpr std::size_t kMaxFailureDescriptionBytes = 255;  // Intune's limit for failureNotification

}  // namespace

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
    options_ = {cfg_.timeout_ms, cfg_.retries, cfg_.caller_info, cfg_.ca_file};
    http_ = std::make_unique<HttpClient>();
}

// One action: to the fixed URL, or where the target says with what it adds;
// a 401 from a target's service is answered with fresh credentials, once.
ExternalValidator::Sent ExternalValidator::call(const std::string& action, const std::string& fixed_url,
                                                const std::string& body) {
    if (!cfg_.target) return {fixed_url, http_->send({true, fixed_url, body, "application/json", cfg_.headers}, options_)};
    for (int round = 0;; ++round) {
        ValidationTarget::Call c = cfg_.target->prepare(action);
        HttpCall http{true, c.url, body, "application/json", std::move(c.headers)};
        http.headers.insert(http.headers.end(), cfg_.headers.begin(), cfg_.headers.end());
        HttpReply reply = http_->send(http, options_);
        if (reply.transport_ok && reply.status == 401 && round == 0) {
            cfg_.target->unauthorized();
            continue;
        }
        if (!reply.success()) cfg_.target->failed();
        return {c.url, std::move(reply)};
    }
}

ExternalValidator::~ExternalValidator() = default;

ValidationOutcome ExternalValidator::validate(const std::string& transaction_id,
                                              const std::vector<unsigned char>& csr_der) {
    if (cfg_.validate_url.empty() && !cfg_.target)
        return {false, "ServiceUnavailable", "no validation URL is configured"};
    Sent sent;
    try {
        sent = call("validateRequest", cfg_.validate_url,
                    validation_request_body(transaction_id, csr_der, cfg_.caller_info));
    } catch (const TargetError& e) {
        return {false, e.code(), e.why(), e.log_id()};
    }
    const HttpReply& reply = sent.reply;
    const std::string where = "POST " + redact_url(sent.url);
    const std::string tries = reply.tries();
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
void check_notification(const HttpReply& reply, const std::string& what, const std::string& url) {
    std::string where = what + " (POST " + redact_url(url) + ")";
    if (!reply.success()) throw std::runtime_error(where + " failed: " + reply.why() + reply.tries());
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
    if (cfg_.success_url.empty() && !cfg_.target) return;
    std::string body = success_notification_body(transaction_id, csr_der, sha1_thumbprint, serial_hex, not_after_unix,
                                                 issuing_ca, cfg_.caller_info);
    Sent sent = call("successNotification", cfg_.success_url, body);
    check_notification(sent.reply, "the success notification", sent.url);
}

void ExternalValidator::notify_failure(const std::string& transaction_id, const std::vector<unsigned char>& csr_der,
                                       std::uint32_t hresult, const std::string& description) {
    if (cfg_.failure_url.empty() && !cfg_.target) return;
    std::string body = failure_notification_body(transaction_id, csr_der, hresult, description, cfg_.caller_info);
    Sent sent = call("failureNotification", cfg_.failure_url, body);
    check_notification(sent.reply, "the failure notification", sent.url);
}

}  // namespace scepter
