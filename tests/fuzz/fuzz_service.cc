// The whole core through Service::handle, as a connector calls it: a
// PKIOperation whose message is the input, POSTed or sent as GET's query.
// Byte 0 picks the transport (bit 0) and the profile (bit 1: the demo's
// "legacy" profile, which allows DES and SHA-1); the rest is the POST body
// or the query string. A client's bytes never earn a 5xx: that aborts.
#include "fuzz_support.h"

#include "service/service.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace scepter;
    static Service* const service = [] {
        Service* s = Service::load(fuzz::private_copy_of_demo_pki() + "/scepter.yaml").release();
        s->worker_init();
        return s;
    }();
    if (size < 1) return 0;
    const bool post = (data[0] & 1) != 0;
    Request req;
    req.method = post ? "POST" : "GET";
    req.path = "/scep";
    req.query = post ? "operation=PKIOperation" : fuzz::text_of(data + 1, size - 1);
    req.client_ip = "127.0.0.1";
    req.user_agent = "scepter-fuzz";
    req.profile = (data[0] & 2) != 0 ? "legacy" : "default";
    if (post) {
        req.content_type = "application/x-pki-message";
        req.body = data + 1;
        req.body_len = size - 1;
    }
    std::optional<Response> resp = service->handle(req, true);
    if (!resp || resp->status >= 500) std::abort();
    return 0;
}
