#include "codec/response.h"

namespace scepter {

Response typed_response(int status, const char* content_type, const std::string& body) {
    Response r;
    r.status = status;
    r.content_type = content_type;
    r.body.assign(body.begin(), body.end());
    return r;
}

Response text_response(int status, const std::string& text) {
    return typed_response(status, "text/plain", text);
}

Response json_response(int status, const std::string& json) {
    return typed_response(status, "application/json", json);
}

}  // namespace scepter
