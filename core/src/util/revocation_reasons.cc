// RFC 5280 CRLReason names: what `scepter certs revoke --reason` and the
// admin location's revoke operation accept, and what lists print.
#include "scepter/text.h"

#include <array>
#include <strings.h>

namespace scepter {
namespace {

struct ReasonName {
    int code;
    const char* name;
    bool for_revoking;  // accepted for revoking
};

// RFC 5280 §5.3.1. 7 is unused; removeFromCRL only undoes a hold in delta
// CRLs; privilegeWithdrawn and aACompromise concern attribute authorities.
constexpr std::array<ReasonName, 10> kReasons{{
    {0, "unspecified", true},
    {1, "keyCompromise", true},
    {2, "caCompromise", true},
    {3, "affiliationChanged", true},
    {4, "superseded", true},
    {5, "cessationOfOperation", true},
    {6, "certificateHold", true},
    {8, "removeFromCRL", false},
    {9, "privilegeWithdrawn", false},
    {10, "aACompromise", false},
}};

}  // namespace

std::optional<int> revocation_reason_code(const std::string& name) {
    for (const auto& r : kReasons) {
        if (r.for_revoking && strcasecmp(name.c_str(), r.name) == 0) return r.code;
    }
    return std::nullopt;
}

std::string revocation_reason_name(int code) {
    for (const auto& r : kReasons) {
        if (r.code == code) return r.name;
    }
    return "reason " + std::to_string(code);
}

std::string revocation_reason_choices() {
    std::string out;
    for (const auto& r : kReasons) {
        if (!r.for_revoking) continue;
        if (!out.empty()) out += '|';
        out += r.name;
    }
    return out;
}

}  // namespace scepter
