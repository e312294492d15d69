// Thin RAII layer over the SQLite C API, for the store.
//
// A Connection is used by one thread at a time (it is opened NOMUTEX); the
// ConnectionPool hands connections out under its own mutex, which is what
// makes the store safe to call from many threads.
#pragma once

#include "scepter/store.h"

#include <sqlite3.h>
#include <sys/types.h>

#include <condition_variable>
#include <exception>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace scepter::sqlite {

// A failed SQLite call, with the extended result code so that callers can tell
// a UNIQUE/PRIMARY KEY violation from anything else.
class SqliteError : public StoreError {
   public:
    SqliteError(const std::string& what, int code) : StoreError(what), code_(code) {}
    int code() const noexcept { return code_; }
    bool unavailable() const noexcept override;

   private:
    int code_;
};

struct CloseDb {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

// One use of a cached prepared statement. Parameters are 1-based, columns
// 0-based, as in SQLite. The destructor resets the statement so the cache
// can hand it out again.
class Statement {
   public:
    Statement(sqlite3* db, sqlite3_stmt* stmt) noexcept : db_(db), stmt_(stmt) {}
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    Statement& bind(int index, const std::string& text);
    Statement& bind(int index, std::int64_t value);
    Statement& bind_blob(int index, const std::vector<unsigned char>& blob);
    Statement& bind_null(int index);

    // true: a row is available; false: done. Throws SqliteError otherwise.
    bool step();

    std::string text(int column) const;
    std::int64_t integer(int column) const;
    std::vector<unsigned char> blob(int column) const;

   private:
    void check_bind(int rc, int index);
    sqlite3* db_;
    sqlite3_stmt* stmt_;
};

class Connection {
   public:
    // create: make the file when missing; only the store's first set-up may,
    // every later open requires the file it set up.
    Connection(const std::string& path, int busy_timeout_ms, bool create = false);

    // Runs SQL that returns no rows we need (PRAGMAs, DDL, BEGIN/COMMIT).
    void exec(const char* sql);
    // A single-value query (PRAGMA journal_mode, SELECT version ...).
    std::string query_text(const char* sql);
    // Prepared once per connection, then reused: the statement cache. A given
    // SQL text has one live Statement at a time (the cache holds one handle).
    Statement prepare(const char* sql);
    // Rows changed by the last INSERT/UPDATE/DELETE on this connection: how a
    // conditional UPDATE ("... WHERE status = 'pending'") tells whether it
    // applied.
    int changes() const noexcept { return sqlite3_changes(db_.get()); }
    // Throws (unavailable) when the path no longer names the file this
    // connection opened: deleted or replaced while in use, where writes
    // would go to an unlinked file and vanish.
    void check_file_unchanged() const;

   private:
    std::string path_;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    DbHandle db_;
    std::unordered_map<std::string, StmtHandle> cache_;
};

// Rolls back unless committed: nothing half-written when a step throws.
class WriteTransaction {
   public:
    explicit WriteTransaction(Connection& conn);  // BEGIN IMMEDIATE
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;
    ~WriteTransaction();
    void commit();

   private:
    Connection& conn_;
    bool done_ = false;
};

// What a ConnectionPool sets on each connection it opens.
struct PoolTuning {
    // A WalCheckpointer does the regular work, and SQLite's automatic
    // checkpoint in a commit is only the backstop.
    bool checkpoints_elsewhere = false;
    // store.synchronous: normal instead of Connection's FULL.
    bool sync_at_checkpoints_only = false;
};

class ConnectionPool {
   public:
    ConnectionPool(std::string path, int busy_timeout_ms, std::size_t max_connections, PoolTuning tuning = {});

    // A connection borrowed for one store call; returned when destroyed.
    class Lease {
       public:
        Lease(ConnectionPool& pool, std::unique_ptr<Connection> conn) noexcept
            : pool_(pool), conn_(std::move(conn)), exceptions_(std::uncaught_exceptions()) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        // A connection given back while an exception unwinds (the store
        // failed under it: I/O error, full disk, file gone) is closed, not
        // kept: the next call opens a fresh one, so recovery needs no restart.
        ~Lease() {
            if (std::uncaught_exceptions() > exceptions_) conn_.reset();
            pool_.give_back(std::move(conn_));
        }
        Connection& operator*() const noexcept { return *conn_; }
        Connection* operator->() const noexcept { return conn_.get(); }

       private:
        ConnectionPool& pool_;
        std::unique_ptr<Connection> conn_;
        int exceptions_;
    };

    Lease acquire();

   private:
    void give_back(std::unique_ptr<Connection> conn) noexcept;

    const std::string path_;
    const int busy_timeout_ms_;
    const std::size_t max_connections_;
    const PoolTuning tuning_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_count_ = 0;
};

}  // namespace scepter::sqlite
