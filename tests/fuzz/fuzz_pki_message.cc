// The signed layer of a pkiMessage, as a device sends it: read_signed_message
// (parse, attributes, signer, signature) and read_unverified_attributes (the
// FAILURE path's echo of transactionID and nonce).
#include "fuzz_support.h"

#include <stdexcept>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace scepter;
    const Bytes der = fuzz::bytes_of(data, size);
    (void)read_unverified_attributes(der);  // noexcept
    try {
        SignedMessage msg = read_signed_message(der);
        (void)to_string(static_cast<MessageType>(msg.attrs.message_type));
    } catch (const ScepFailure&) {
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
