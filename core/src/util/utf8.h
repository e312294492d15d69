// UTF-8 well-formedness (RFC 3629), shared by the JSON writer and reader.
#pragma once

#include <cstddef>
#include <string_view>

namespace scepter {

// The length of the well-formed UTF-8 sequence starting at s[i] (no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

}  // namespace scepter
