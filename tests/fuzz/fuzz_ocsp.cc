// What an OCSP client sends: read_ocsp_request on the bytes as a POST body,
// and read_ocsp_get on them as a GET path (ocsp/ocsp_request.h). Either
// reads a request or throws OcspMalformed; nothing else may escape, and a
// request read keeps within its bounds.
#include "fuzz_support.h"

#include "ocsp/ocsp_request.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace scepter;
    auto check = [](const OcspQuery& q) {
        if (q.items.empty() || q.items.size() > kOcspMaxCertIds) std::abort();
        for (const auto& item : q.items)
            if (item.id == nullptr || item.serial_hex.empty() || item.key.empty()) std::abort();
    };
    try {
        check(read_ocsp_request(data, size));
    } catch (const OcspMalformed&) {
    }
    try {
        check(read_ocsp_get("/ocsp/" + fuzz::text_of(data, size)));
    } catch (const OcspMalformed&) {
    }
    return 0;
}
