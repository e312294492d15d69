// ISO 8601 UTC times, as the audit log, the status records, the external
// validation service and the CLI write them.
#include "scepter/text.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace scepter {
namespace {

std::tm utc_fields(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (!gmtime_r(&t, &tm)) throw std::invalid_argument("time out of range: " + std::to_string(unix_seconds));
    return tm;
}

// "YYYY-MM-DDTHH:MM:SS", the part both formats share.
std::string date_time(const std::tm& tm) {
    char out[96];  // room for any int the compiler can imagine
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return out;
}

}  // namespace

std::string iso8601_utc(std::int64_t unix_seconds) { return date_time(utc_fields(unix_seconds)) + "Z"; }

std::string iso8601_utc_millis(std::int64_t unix_seconds, int millis) {
    if (millis < 0 || millis > 999) throw std::invalid_argument("milliseconds out of range");
    char fraction[8];
    std::snprintf(fraction, sizeof fraction, ".%03dZ", millis);
    return date_time(utc_fields(unix_seconds)) + fraction;
}

std::string iso8601_utc_now_millis() {
    using namespace std::chrono;
    auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    return iso8601_utc_millis(ms / 1000, int(ms % 1000));
}

}  // namespace scepter
