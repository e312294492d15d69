// The OCSP face (`scepter_ocsp`, `SetHandler scepter-ocsp`): a request read
// at the boundary, answered from the cache on the spot when it can be,
// otherwise where blocking is allowed. Every answer a client can act on is
// an OCSPResponse with HTTP 200: malformedRequest for what does not read,
// tryLater while the store or the worker cannot answer, internalError for
// our own failures (RFC 6960 §4.2.1). Only a method other than GET, HEAD
// and POST gets a plain HTTP error.
#include "ocsp/ocsp_request.h"
#include "scepter/log_ids.h"
#include "service/service.h"

#include <ctime>

namespace scepter {
namespace {

Response ocsp_refusal(int ocsp_status, scepter_log_level level, const char* id, const std::string& text) {
    Response r = ocsp_http_response(ocsp_status_response(ocsp_status), nullptr, std::time(nullptr));
    r.log(level, id, text);
    return r;
}

}  // namespace

std::optional<Response> Service::ocsp(const Request& req, bool allow_blocking) {
    const std::string client = "client " + req.client_ip + ": OCSP ";
    if (req.method != "GET" && req.method != "HEAD" && req.method != "POST") {
        Response r = text_response(405, "OCSP requests are sent with GET or POST\n");
        r.log(SCEPTER_LOG_WARN, SCEPTER_ID_OCSP_METHOD, client + "request with method " + req.method + " refused (HTTP 405)");
        return r;
    }
    std::optional<OcspQuery> q;
    try {
        q = req.method == "POST" ? read_ocsp_request(req.body, req.body_len) : read_ocsp_get(req.path);
    } catch (const OcspMalformed& e) {
        return ocsp_refusal(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, SCEPTER_LOG_WARN, SCEPTER_ID_OCSP_MALFORMED,
                            client + "request answered malformedRequest: " + e.what());
    }
    if (auto hit = ocsp_->cached(*q, std::time(nullptr))) return hit;
    if (!allow_blocking) return std::nullopt;  // the store, maybe a signature
    std::string why;
    if (!worker_ready(why))
        return ocsp_refusal(OCSP_RESPONSE_STATUS_TRYLATER, SCEPTER_LOG_ERROR, SCEPTER_ID_OCSP_TRY_LATER,
                            client + "request answered tryLater: this worker could not build what it needs: " + why);
    try {
        return ocsp_->answer(*q, store(), std::time(nullptr));
    } catch (const StoreError& e) {
        if (e.unavailable())
            return ocsp_refusal(OCSP_RESPONSE_STATUS_TRYLATER, SCEPTER_LOG_ERROR, SCEPTER_ID_OCSP_TRY_LATER,
                                client + "request answered tryLater: the store cannot be used: " + e.what());
        return ocsp_refusal(OCSP_RESPONSE_STATUS_INTERNALERROR, SCEPTER_LOG_ERROR, SCEPTER_ID_OCSP_INTERNAL,
                            client + "request answered internalError: " + e.what());
    } catch (const std::exception& e) {
        return ocsp_refusal(OCSP_RESPONSE_STATUS_INTERNALERROR, SCEPTER_LOG_ERROR, SCEPTER_ID_OCSP_INTERNAL,
                            client + "request answered internalError: " + e.what());
    }
}

}  // namespace scepter
