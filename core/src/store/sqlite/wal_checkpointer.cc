#include "store/sqlite/wal_checkpointer.h"

#include "store/sqlite/sqlite_db.h"

#include <memory>

namespace scepter::sqlite {

WalCheckpointer::WalCheckpointer(std::string path, int busy_timeout_ms, std::chrono::milliseconds every)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), every_(every), thread_([this] { run(); }) {}

WalCheckpointer::~WalCheckpointer() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool WalCheckpointer::wait_period() {
    std::unique_lock<std::mutex> lock(mutex_);
    return !wake_.wait_for(lock, every_, [this] { return stopping_; });
}

void WalCheckpointer::run() noexcept {
    std::unique_ptr<Connection> conn;
    while (wait_period()) {
        // A failure (file gone, disk full, I/O error) is the request path's
        // to report, with its log ID; here the connection is dropped and the
        // next period tries afresh. Meanwhile the backstop threshold bounds
        // the WAL.
        try {
            if (!conn) conn = std::make_unique<Connection>(path_, busy_timeout_ms_);
            conn->exec("PRAGMA wal_checkpoint(PASSIVE)");
        } catch (...) {
            conn.reset();
        }
    }
}

}  // namespace scepter::sqlite
