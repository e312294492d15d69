// The audit trail: one JSON line per enrollment step, with the transaction
// ID, so an admin can follow one device from request to certificate (or to
// the step that failed and why).
#pragma once

#include "codec/response.h"
#include "metrics/metrics.h"

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace scepter {

// What every line of one HTTP request shares.
struct AuditContext {
    std::string transaction_id;
    std::string profile;
    std::string operation;
    std::string message_type;
    std::string client_ip;
    std::string user_agent;
    std::string client_os;
    std::string pki_status;  // the CertRep's, once one is sent: SUCCESS, FAILURE, PENDING
};

using AuditFields = std::vector<std::pair<std::string, std::string>>;

// Guesses the device's OS from its User-Agent, as admins do with NDES's IIS
// logs: Android/Dalvik, iOS/macOS, Windows, browsers.
std::string guess_client_os(const std::string& user_agent);

class AuditLog {
   public:
    // Empty path: lines go to the web server's error log (info level).
    // The file is opened here, at configuration time, so that workers that
    // run as another user inherit the descriptor. Throws std::runtime_error.
    explicit AuditLog(const std::string& path);
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    // Opens the file again by its name, for logrotate's rename-then-signal
    // (nginx -s reopen): the next line goes to a file of that name, created
    // when missing. The descriptor keeps its number (dup2), so a write in
    // another thread sees the old file or the new one, never a closed one.
    // Returns "" or why not (then lines go on to the old file).
    std::string reopen() const noexcept;

    // A file this object created at configuration time, as root, is handed
    // to the user the workers run as, so that they can reopen it and the
    // enrollments page can read it. Only a file it created: an admin's
    // choice of owner is kept. Returns "" or why not.
    std::string hand_to(unsigned long uid, unsigned long gid) const noexcept;

    // One line; a failed step is also logged as a warning (SCP3003).
    void step(const AuditContext& ctx, const char* id, const char* step, bool ok, const std::string& detail,
              Response& resp, const AuditFields& fields = {}) const;
    // A failed step whose cause the caller has logged already, at its own
    // level and ID (SCP1004: the worker was not ready): the line without a
    // second, weaker warning for the same event.
    void failure_logged_elsewhere(const AuditContext& ctx, const char* id, const char* step,
                                  const std::string& detail, Response& resp, const AuditFields& fields = {}) const;

    // The counters every step also moves (audit_metrics.cc): the trail and
    // the metrics see the same events. Attached at configuration time to the
    // block the web server shares; unattached, nothing is counted.
    bool attach_metrics(void* mem, std::size_t len) noexcept { return metrics_.attach(mem, len); }
    const metrics::Metrics& metrics() const { return metrics_; }

   private:
    void write_line(const AuditContext& ctx, const char* id, const char* step, bool ok, const std::string& detail,
                    Response& resp, const AuditFields& fields) const;

    std::string path_;
    int fd_ = -1;
    bool created_ = false;  // by the constructor
    metrics::Metrics metrics_;
    // With a record lock on the file (between processes), the threads of
    // one process take turns (a record lock is the process's, not the
    // thread's); reopen() takes it too.
    mutable std::mutex write_mutex_;
};

}  // namespace scepter
