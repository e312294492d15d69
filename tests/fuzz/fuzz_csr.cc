// The PKCS#10 reader: parse, self-signature, names, extensions, the key, and
// the input limits (defaults, and tight ones so the limit checks run too).
#include "fuzz_support.h"

#include "ca/csr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace scepter;
    const Bytes der = fuzz::bytes_of(data, size);
    InputLimits tight;
    tight.max_name_bytes = 8;
    tight.max_subject_bytes = 16;
    tight.max_sans = 1;
    for (const InputLimits& limits : {InputLimits{}, tight}) {
        try {
            CsrInfo info = read_csr(der, limits);
            (void)requested_sans(info.req.get());
        } catch (const ScepFailure&) {
        }
    }
    return 0;
}
