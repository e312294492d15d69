// One audit line read back (the reverse of AuditLog::step in audit.cc), and
// the times and durations `scepter trace` filters with.
#include "scepter/audit_trail.h"
#include "scepter/text.h"
#include "util/json_flat.h"

#include <cctype>

namespace scepter {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil): timegm() would read the TZ environment and is not
// required to be thread-safe.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = unsigned(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + std::int64_t(doe) - 719468;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

// The fields every line has; the rest are the step's own.
std::string* common_field(AuditEntry& e, const std::string& key) {
    if (key == "time") return &e.time;
    if (key == "id") return &e.id;
    if (key == "step") return &e.step;
    if (key == "outcome") return &e.outcome;
    if (key == "transaction_id") return &e.transaction_id;
    if (key == "profile") return &e.profile;
    if (key == "operation") return &e.operation;
    if (key == "message_type") return &e.message_type;
    if (key == "client_ip") return &e.client_ip;
    if (key == "user_agent") return &e.user_agent;
    if (key == "client_os") return &e.client_os;
    if (key == "detail") return &e.detail;
    return nullptr;
}

}  // namespace

const std::string& AuditEntry::field(std::string_view key) const noexcept {
    static const std::string none;
    for (const auto& [k, v] : extra)
        if (k == key) return v;
    return none;
}

std::optional<std::int64_t> parse_audit_time(std::string_view s) noexcept {
    // YYYY-MM-DDTHH:MM:SS[.fff]Z
    int y, mo, d, h, mi, sec;
    if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
    if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
        !digits(s, 14, 2, mi) || !digits(s, 17, 2, sec))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::size_t pos = 19;
    int millis = 0;
    if (s[pos] == '.') {
        ++pos;
        int scale = 100;
        std::size_t start = pos;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
            millis += (s[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) return std::nullopt;
    }
    if (pos + 1 != s.size() || s[pos] != 'Z') return std::nullopt;
    std::int64_t days = days_from_civil(y, unsigned(mo), unsigned(d));
    return ((days * 24 + h) * 60 + mi) * 60000 + std::int64_t(sec) * 1000 + millis;
}

std::optional<std::int64_t> parse_duration(std::string_view text) noexcept {
    if (text.size() < 2) return std::nullopt;
    std::int64_t unit = 0;
    switch (text.back()) {
        case 's': unit = 1000; break;
        case 'm': unit = 60 * 1000; break;
        case 'h': unit = 3600 * 1000; break;
        case 'd': unit = 86400 * 1000; break;
        case 'w': unit = 7 * 86400 * 1000; break;
        default: return std::nullopt;
    }
    auto n = parse_int(std::string(text.substr(0, text.size() - 1)));
    // Up to ten years: anything longer is a typo, and the product must not overflow.
    if (!n || *n < 1 || *n * (unit / 1000) > std::int64_t(3650) * 86400) return std::nullopt;
    return *n * unit;
}

std::optional<AuditEntry> parse_audit_entry(std::string_view line) noexcept {
    try {
        FlatJsonObject object = parse_flat_json(line);
        AuditEntry e;
        for (auto& [key, value] : object) {
            if (!value.is_string()) return std::nullopt;  // the writer writes strings only
            if (std::string* common = common_field(e, key)) *common = std::move(value.text);
            else e.extra.emplace_back(key, std::move(value.text));
        }
        auto ms = parse_audit_time(e.time);
        if (!ms || e.step.empty()) return std::nullopt;
        e.time_ms = *ms;
        return e;
    } catch (const std::exception&) {
        return std::nullopt;  // JsonError, or no memory for a line: not an entry we can show
    }
}

}  // namespace scepter
