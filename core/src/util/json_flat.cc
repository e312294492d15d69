#include "util/json_flat.h"

#include "util/utf8.h"

#include <cstdint>

namespace scepter {
namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

class Reader {
   public:
    explicit Reader(std::string_view text) : s_(text) {}

    FlatJsonObject object() {
        FlatJsonObject out;
        skip_space();
        expect('{', "expected '{'");
        skip_space();
        if (peek() == '}') {
            ++pos_;
        } else {
            for (;;) {
                skip_space();
                if (peek() != '"') fail("expected a string key");
                std::size_t key_at = pos_;
                std::string key = string();
                skip_space();
                expect(':', "expected ':'");
                skip_space();
                JsonScalar value = scalar();
                if (!out.emplace(std::move(key), std::move(value)).second) fail("duplicate key", key_at);
                skip_space();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                expect('}', "expected ',' or '}'");
                break;
            }
        }
        skip_space();
        if (pos_ != s_.size()) fail("unexpected data after the object");
        return out;
    }

   private:
    [[noreturn]] void fail(const std::string& why) const { fail(why, pos_); }
    [[noreturn]] void fail(const std::string& why, std::size_t at) const { throw JsonError(why, at); }

    int peek() const { return pos_ < s_.size() ? static_cast<unsigned char>(s_[pos_]) : -1; }

    void expect(char c, const char* why) {
        if (peek() != static_cast<unsigned char>(c)) fail(why);
        ++pos_;
    }

    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
            ++pos_;
        }
    }

    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    JsonScalar scalar() {
        int c = peek();
        if (c == '"') return {JsonScalar::Type::String, string()};
        if (c == '{' || c == '[') fail("nested objects and arrays are not accepted");
        if (literal("true")) return {JsonScalar::Type::Bool, "true"};
        if (literal("false")) return {JsonScalar::Type::Bool, "false"};
        if (literal("null")) return {JsonScalar::Type::Null, "null"};
        if (c == '-' || (c >= '0' && c <= '9')) return {JsonScalar::Type::Number, number()};
        fail("expected a string, number, true, false or null");
    }

    bool digit() const { return peek() >= '0' && peek() <= '9'; }

    // RFC 8259 section 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    std::string number() {
        std::size_t start = pos_;
        if (peek() == '-') ++pos_;
        if (peek() == '0') {
            ++pos_;
        } else if (digit()) {
            while (digit()) ++pos_;
        } else {
            fail("malformed number");
        }
        if (peek() == '.') {
            ++pos_;
            if (!digit()) fail("malformed number");
            while (digit()) ++pos_;
        }
        if (peek() == 'e' || peek() == 'E') {
            ++pos_;
            if (peek() == '+' || peek() == '-') ++pos_;
            if (!digit()) fail("malformed number");
            while (digit()) ++pos_;
        }
        return std::string(s_.substr(start, pos_ - start));
    }

    std::uint32_t hex4() {
        if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= std::uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f') v |= std::uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= std::uint32_t(c - 'A' + 10);
            else fail("malformed \\u escape", pos_ - 1);
        }
        return v;
    }

    std::string string() {
        expect('"', "expected '\"'");
        std::string out;
        for (;;) {
            if (pos_ >= s_.size()) fail("unterminated string");
            unsigned char c = static_cast<unsigned char>(s_[pos_]);
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) fail("control character in a string");
            if (c == '\\') {
                ++pos_;
                escape(out);
                continue;
            }
            std::size_t len = utf8_sequence_length(s_, pos_);
            if (len == 0) fail("invalid UTF-8 in a string");
            out.append(s_.substr(pos_, len));
            pos_ += len;
        }
    }

    void escape(std::string& out) {
        std::size_t at = pos_ - 1;
        switch (peek()) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                ++pos_;
                std::uint32_t cp = hex4();
                if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate", at);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (!literal("\\u")) fail("lone high surrogate", at);
                    std::uint32_t low = hex4();
                    if (low < 0xDC00 || low > 0xDFFF) fail("lone high surrogate", at);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                append_utf8(out, cp);
                return;
            }
            default: fail("unknown escape", at);
        }
        ++pos_;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace

FlatJsonObject parse_flat_json(std::string_view text) { return Reader(text).object(); }

const std::string* json_string_value(const FlatJsonObject& object, const std::string& key) {
    auto it = object.find(key);
    return it != object.end() && it->second.is_string() ? &it->second.text : nullptr;
}

}  // namespace scepter
