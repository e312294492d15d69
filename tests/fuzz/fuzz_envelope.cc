// The enveloped layer of a pkiMessage (the signed message's content):
// inspect_envelope, then open_envelope with the demo PKI's RA keys, the way
// enrollment opens it (single DES through the legacy library context).
#include "fuzz_support.h"

#include "ca/ca_material.h"
#include "scepter/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace scepter;
    static const CaMaterial ca = load_ca_material(load_config(fuzz::demo_pki_dir() + "/scepter.yaml"));
    static const auto keys = ca.decryption_keys();
    const Bytes der = fuzz::bytes_of(data, size);
    try {
        EnvelopeAlgorithms algs = inspect_envelope(der);
        OSSL_LIB_CTX* libctx = algs.cipher == ContentCipher::des ? ca.legacy_ctx.get() : nullptr;
        (void)open_envelope(der, keys, libctx);
    } catch (const ScepFailure&) {
    }
    return 0;
}
