// Checkpoints the store's write-ahead log from a thread of its own.
//
// SQLite's automatic checkpoint runs inside the commit that crosses the WAL's
// size threshold: that request pays for copying the WAL into the database
// file and syncing it, which is what put spikes into the commit path's
// p99. A worker's store instead raises the automatic threshold to a backstop
// (ConnectionPool's checkpoints_elsewhere) and leaves the regular work to
// this thread. PASSIVE checkpoints never wait for readers or writers, so the
// threads of several workers (and nodes' CLIs) do not queue behind each other.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace scepter::sqlite {

class WalCheckpointer {
   public:
    // Started in the process that uses the store (a worker, after fork).
    WalCheckpointer(std::string path, int busy_timeout_ms, std::chrono::milliseconds every);
    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;
    ~WalCheckpointer();  // stops the thread and waits for it

   private:
    void run() noexcept;
    // Waits out one period; false once asked to stop.
    bool wait_period();

    const std::string path_;
    const int busy_timeout_ms_;
    const std::chrono::milliseconds every_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts once everything above exists
};

}  // namespace scepter::sqlite
