#include "audit/audit.h"

#include "audit/audit_metrics.h"

#include "scepter/log_ids.h"
#include "scepter/text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace scepter {
namespace {

bool contains(const std::string& haystack, const char* needle) { return haystack.find(needle) != std::string::npos; }

void field(std::string& out, const std::string& key, const std::string& value) {
    out += "," + json_quote(key) + ":" + json_quote(value);
}

// The whole file locked for writing, between processes, while a line is
// checked for and written: a POSIX record lock, which the kernel drops when
// its holder dies, kill -9 included. Best effort: the line is written
// unlocked when the lock fails (a file system without locks).
class FileWriteLock {
   public:
    explicit FileWriteLock(int fd) noexcept : fd_(fd) { locked_ = set(F_WRLCK, F_SETLKW); }
    ~FileWriteLock() {
        if (locked_) set(F_UNLCK, F_SETLK);
    }
    FileWriteLock(const FileWriteLock&) = delete;
    FileWriteLock& operator=(const FileWriteLock&) = delete;

   private:
    bool set(short type, int cmd) const noexcept {
        struct flock fl {};
        fl.l_type = type;
        fl.l_whence = SEEK_SET;  // start 0, length 0: the whole file, however long
        int rc;
        do rc = fcntl(fd_, cmd, &fl);
        while (rc != 0 && errno == EINTR);
        return rc == 0;
    }

    int fd_;
    bool locked_ = false;
};

// Whether the file ends inside a line: the first part of one whose writer
// died in the middle of its write() (Linux checks for a fatal signal between
// the pages it copies, so kill -9 can cut a line), or a short write on a full
// disk. Asked under FileWriteLock: without it, another worker's write in
// progress looks like a cut line. False when it cannot tell (a descriptor
// opened write-only).
bool ends_inside_a_line(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) return false;
    char last = '\n';
    return pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
}

}  // namespace

std::string guess_client_os(const std::string& ua) {
    if (ua.empty()) return "unknown";
    if (contains(ua, "Android") || contains(ua, "Dalvik")) return "Android";
    if (contains(ua, "iPhone") || contains(ua, "iPad") || contains(ua, "iOS") || contains(ua, "CFNetwork") ||
        contains(ua, "Darwin") || contains(ua, "Mac OS") || contains(ua, "macOS"))
        return "iOS/macOS";
    // Windows' own SCEP client says "Mozilla/4.0 (compatible; Win32; NDES client)".
    if (contains(ua, "Windows") || contains(ua, "Win32") || contains(ua, "NDES client")) return "Windows";
    if (contains(ua, "Mozilla") || contains(ua, "Chrome") || contains(ua, "Safari")) return "browser";
    return "other";
}

namespace {

// Read as well as write, to see a cut last line (ends_inside_a_line);
// write-only when the file allows no more. `created`: the file did not exist.
int open_trail(const std::string& path, bool& created) {
    created = false;
    for (int access : {O_RDWR, O_WRONLY}) {
        int fd = open(path.c_str(), access | O_APPEND | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            fd = open(path.c_str(), access | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
            created = fd >= 0;
            if (fd < 0 && errno == EEXIST) fd = open(path.c_str(), access | O_APPEND | O_CLOEXEC);  // a racing creator
        }
        if (fd >= 0 || errno != EACCES) return fd;
    }
    return -1;
}

}  // namespace

AuditLog::AuditLog(const std::string& path) : path_(path) {
    if (path.empty()) return;
    fd_ = open_trail(path, created_);
    if (fd_ < 0) throw std::runtime_error("cannot open the audit log '" + path + "': " + std::strerror(errno));
}

std::string AuditLog::reopen() const noexcept {
    if (fd_ < 0) return "";
    bool created = false;
    int fd = open_trail(path_, created);
    if (fd < 0) return "cannot open the audit log '" + path_ + "': " + std::strerror(errno);
    std::string error;
    {
        std::lock_guard<std::mutex> one_thread(write_mutex_);
        if (dup2(fd, fd_) < 0) error = "cannot reopen the audit log '" + path_ + "': " + std::strerror(errno);
    }
    close(fd);
    return error;
}

std::string AuditLog::hand_to(unsigned long uid, unsigned long gid) const noexcept {
    if (fd_ < 0 || !created_ || geteuid() != 0) return "";
    if (fchown(fd_, uid_t(uid), gid_t(gid)) != 0)
        return "cannot hand the audit log '" + path_ + "' to the workers' user: " + std::strerror(errno);
    return "";
}

AuditLog::~AuditLog() {
    if (fd_ >= 0) close(fd_);
}

void AuditLog::step(const AuditContext& ctx, const char* id, const char* step, bool ok, const std::string& detail,
                    Response& resp, const AuditFields& fields) const {
    if (!ok)
        resp.log(SCEPTER_LOG_WARN, SCEPTER_ID_STEP_FAILED,
                 (ctx.transaction_id.empty() ? "client " + ctx.client_ip : "transaction " + ctx.transaction_id) + ": " +
                     step + " failed: " + detail);
    write_line(ctx, id, step, ok, detail, resp, fields);
}

void AuditLog::failure_logged_elsewhere(const AuditContext& ctx, const char* id, const char* step,
                                        const std::string& detail, Response& resp, const AuditFields& fields) const {
    write_line(ctx, id, step, false, detail, resp, fields);
}

void AuditLog::write_line(const AuditContext& ctx, const char* id, const char* step, bool ok, const std::string& detail,
                          Response& resp, const AuditFields& fields) const {
    std::string line = "{\"time\":\"" + iso8601_utc_now_millis() + "\"";
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
    count_step(metrics_, ctx, step, ok, detail, fields);
    if (fd_ < 0) {
        resp.logs.push_back({SCEPTER_LOG_INFO, line});
        return;
    }
    line += "\n";
    // O_APPEND and one write() per line, one writer at a time, keep lines
    // from several workers whole. A line cut by its writer's death or a full
    // disk stays a fragment, but on its own line: ours starts a new one
    // rather than completing it into garbage. A short write of our own is
    // not continued: the next line, ours or another worker's, starts afresh.
    std::lock_guard<std::mutex> one_thread(write_mutex_);
    FileWriteLock one_process(fd_);
    if (ends_inside_a_line(fd_)) line.insert(line.begin(), '\n');
    if (write(fd_, line.data(), line.size()) != ssize_t(line.size()))
        resp.log(SCEPTER_LOG_ERROR, SCEPTER_ID_AUDIT_WRITE_FAILED, std::string("audit log write failed: ") + std::strerror(errno));
}

}  // namespace scepter
