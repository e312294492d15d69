// Values written as text and read back: times, JSON strings, base64, hex,
// PEM.
// One definition of each (core/src/util/), shared by the core, the CLI and
// the test client, so that a format never drifts between two copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scepter {

// ---- times (UTC, ISO 8601) ----
// Both throw std::invalid_argument for a time gmtime_r cannot represent.

// "2026-11-25T06:30:00Z": status records, the CLI's tables.
std::string iso8601_utc(std::int64_t unix_seconds);
// "2026-11-25T06:30:00.000Z": what Intune's connector and admin APIs expect.
// millis (0..999) is the fraction of the second.
std::string iso8601_utc_millis(std::int64_t unix_seconds, int millis = 0);
// The current time, to the millisecond: "2026-11-25T06:30:00.123Z".
std::string iso8601_utc_now_millis();

// ---- JSON ----

// Replaces every byte sequence that is not valid UTF-8 (overlong forms,
// surrogates, truncated sequences, stray continuation bytes) by U+FFFD, one
// per bad byte.
std::string utf8_sanitize(std::string_view text);
// The inside of a JSON string literal for ANY bytes: invalid UTF-8 replaced
// (utf8_sanitize), '"' and '\' escaped, control characters as \n, \r, \t or
// \u00XX. The result is always valid JSON between quotes.
std::string json_escape(std::string_view text);
// "\"...\"": json_escape(text), quoted.
std::string json_quote(std::string_view text);

// ---- log lines ----

// A log line as the web server's error log may take it, whatever a client
// put into it: control characters (bytes below 0x20, and 0x7F) as \xNN, so
// that a transactionID or an operation name cannot end the line and forge
// the next one, or send a terminal escape to whoever reads the log.
std::string log_safe(std::string_view text);

// ---- base64 (RFC 4648, standard alphabet, padded) ----

std::string base64_encode(const unsigned char* data, std::size_t len);
std::string base64_encode(const std::vector<unsigned char>& data);
// Tolerates line breaks, and spaces that stood for '+' (an unescaped '+' in
// a query string). nullopt for anything else that is not base64.
std::optional<std::vector<unsigned char>> base64_decode(std::string_view text);

// ---- hex ----

// Lower-case hex of bytes: thumbprints, hashed secrets, nonces.
std::string to_hex(const unsigned char* data, std::size_t len);
std::string to_hex(const std::vector<unsigned char>& data);
// The bytes of an even number of hex digits (either case); nullopt otherwise.
std::optional<std::vector<unsigned char>> from_hex(std::string_view hex);

// ---- numbers ----

// The whole of `text` as an integer in `base` (no sign, space or suffix
// around it); nullopt when it is not one or does not fit in 64 bits.
std::optional<std::int64_t> parse_int(const std::string& text, int base = 10);

// ---- PEM ----

// der under "-----BEGIN label-----", as OpenSSL writes it (64 columns).
// label: "CERTIFICATE", "CERTIFICATE REQUEST"... Throws std::runtime_error.
std::string pem_encode(const std::vector<unsigned char>& der, const char* label);

// RFC 5280 CRLReason names accepted for revoking (any case), as the code the
// store keeps. Empty optional for anything else, including the codes that
// exist but are no reason to revoke a device certificate.
std::optional<int> revocation_reason_code(const std::string& name);
// The name of a stored code: "keyCompromise"; "reason N" for a code without a name.
std::string revocation_reason_name(int code);
// "unspecified|keyCompromise|...": for help texts and error messages.
std::string revocation_reason_choices();

}  // namespace scepter
