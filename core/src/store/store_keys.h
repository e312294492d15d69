// The canonical spelling of the store's lookup keys, so that a serial or a
// thumbprint copied from openssl, Windows certmgr or a browser finds its row
// whatever the case and separators.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace scepter {

// Serial: upper-case hex, even length, redundant leading zero bytes removed
// (BN_bn2hex's form). "0a:1b" -> "0A1B", "000A1B" -> "0A1B", "a" -> "0A".
// Empty optional when the text is not hex (colons allowed) or is empty.
std::optional<std::string> canonical_serial(std::string_view text);

// Thumbprint: lower-case hex without separators. Empty optional when the text
// is not hex (colons and spaces allowed) or is empty.
std::optional<std::string> canonical_thumbprint(std::string_view text);

// The canonical stored form of a serial; throws StoreError when not hex.
// Stored keys are canonical so that lookups and the UNIQUE check do not
// depend on how the caller spelled them.
std::string stored_serial(const std::string& serial);

// The same for a thumbprint; `which` names it in the message ("SHA-1").
std::string stored_thumbprint(const std::string& hex, const char* which);

// A leader lease's name (Store::try_leader_lease): 1 to 100 of letters,
// digits, '-', '.', '_' and ':'; throws StoreError otherwise. It becomes
// part of a file name (SQLite) and a lock key (PostgreSQL).
const std::string& checked_lease_name(const std::string& name);

}  // namespace scepter
