// GET's query string: parse_query (split, percent-decode) and base64_decode
// (codec/query_string.h, scepter/text.h), on the whole input and on every value it yields,
// as the service decodes message=.
#include "fuzz_support.h"

#include "codec/query_string.h"
#include "scepter/text.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace scepter;
    const std::string query = fuzz::text_of(data, size);
    auto check_base64 = [](const std::string& text) {
        std::optional<Bytes> bytes = base64_decode(text);
        // Never more than 3 bytes per 4 characters of input.
        if (bytes && bytes->size() > text.size() / 4 * 3) std::abort();
    };
    check_base64(query);
    for (const auto& [name, value] : parse_query(query)) {
        if (name.size() > query.size() || value.size() > query.size()) std::abort();
        check_base64(value);
    }
    return 0;
}
