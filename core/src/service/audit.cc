#include "service/audit.h"

#include "scepter/log_ids.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace scepter {
namespace {

bool contains(const std::string& haystack, const char* needle) { return haystack.find(needle) != std::string::npos; }

std::string utc_now() {
    auto now = std::chrono::system_clock::now();
    std::time_t secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms));
    return buf;
}

void field(std::string& out, const std::string& key, const std::string& value) {
    out += ",\"" + key + "\":\"" + json_escape(value) + "\"";
}

}  // namespace

std::string guess_client_os(const std::string& ua) {
    if (ua.empty()) return "unknown";
    if (contains(ua, "Android") || contains(ua, "Dalvik")) return "Android";
    if (contains(ua, "iPhone") || contains(ua, "iPad") || contains(ua, "iOS") || contains(ua, "CFNetwork") ||
        contains(ua, "Darwin") || contains(ua, "Mac OS") || contains(ua, "macOS"))
        return "iOS/macOS";
    if (contains(ua, "Windows")) return "Windows";
    if (contains(ua, "Mozilla") || contains(ua, "Chrome") || contains(ua, "Safari")) return "browser";
    return "other";
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
        }
    }
    return out;
}

AuditLog::AuditLog(const std::string& path) {
    if (path.empty()) return;
    fd_ = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) throw std::runtime_error("cannot open the audit log '" + path + "': " + std::strerror(errno));
}

AuditLog::~AuditLog() {
    if (fd_ >= 0) close(fd_);
}

void AuditLog::step(const AuditContext& ctx, const char* id, const char* step, bool ok, const std::string& detail,
                    Response& resp, const AuditFields& fields) const {
    std::string line = "{\"time\":\"" + utc_now() + "\"";
    field(line, "id", id);
    field(line, "step", step);
    field(line, "outcome", ok ? "ok" : "failed");
    field(line, "transaction_id", ctx.transaction_id);
    field(line, "profile", ctx.profile);
    field(line, "operation", ctx.operation);
    if (!ctx.message_type.empty()) field(line, "message_type", ctx.message_type);
    field(line, "client_ip", ctx.client_ip);
    field(line, "user_agent", ctx.user_agent);
    field(line, "client_os", ctx.client_os);
    for (const auto& [k, v] : fields) field(line, k, v);
    if (!detail.empty()) field(line, "detail", detail);
    line += "}";
    if (!ok)
        resp.log(SCEPTER_LOG_WARN, SCEPTER_ID_STEP_FAILED,
                 (ctx.transaction_id.empty() ? "client " + ctx.client_ip : "transaction " + ctx.transaction_id) + ": " +
                     step + " failed: " + detail);
    if (fd_ < 0) {
        resp.logs.push_back({SCEPTER_LOG_INFO, line});
        return;
    }
    line += "\n";
    // O_APPEND and one write() per line keep lines from several workers whole.
    if (write(fd_, line.data(), line.size()) != ssize_t(line.size()))
        resp.log(SCEPTER_LOG_ERROR, SCEPTER_ID_AUDIT_WRITE_FAILED, std::string("audit log write failed: ") + std::strerror(errno));
}

}  // namespace scepter
