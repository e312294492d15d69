// A small, strict JSON reader for flat objects: {"key": "text", "n": 1,
// "b": true, "x": null}. Enough for the answers of an external validation
// service ({"code": "...", "errorDescription": "..."}) and for the status
// records, and nothing more: a nested object or an array is refused rather
// than skipped, so a reply of an unexpected shape is never half-understood.
//
// Strict means RFC 8259 for everything it accepts: the number grammar, the
// escapes (\uXXXX with surrogate pairs, decoded to UTF-8), raw bytes that
// must be valid UTF-8, no control characters in strings, no trailing commas,
// nothing but whitespace after the closing brace, no duplicate keys (which
// two readers could resolve differently). null is accepted as a value:
// .NET services (Intune among them) serialise a missing string as null.
// The writer's side is json_quote (scepter/text.h).
#pragma once

#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace scepter {

struct JsonScalar {
    enum class Type { String, Number, Bool, Null };
    Type type = Type::Null;
    // String: the decoded text (UTF-8). Number: the literal as written
    // ("-1.5e3"). Bool: "true" or "false". Null: "null".
    std::string text;

    bool is_string() const noexcept { return type == Type::String; }
};

using FlatJsonObject = std::map<std::string, JsonScalar>;

// What was wrong, and at which byte offset of the input.
class JsonError : public std::runtime_error {
   public:
    JsonError(const std::string& why, std::size_t offset)
        : std::runtime_error(why + " at offset " + std::to_string(offset)), offset_(offset) {}
    std::size_t offset() const noexcept { return offset_; }

   private:
    std::size_t offset_;
};

// Parses one flat JSON object. Throws JsonError for anything else.
FlatJsonObject parse_flat_json(std::string_view text);

// The string value of `key`, or nullptr when it is absent or not a string.
const std::string* json_string_value(const FlatJsonObject& object, const std::string& key);

}  // namespace scepter
