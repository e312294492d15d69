#include "codec/response.h"

namespace scepter {

Response text_response(int status, const std::string& text) {
    Response r;
    r.status = status;
    r.content_type = "text/plain";
    r.body.assign(text.begin(), text.end());
    return r;
}

}  // namespace scepter
