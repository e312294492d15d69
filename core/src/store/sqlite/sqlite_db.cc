#include "store/sqlite/sqlite_db.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace scepter::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what, int rc) {
    std::string msg = what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    throw SqliteError(msg, db != nullptr ? sqlite3_extended_errcode(db) : rc);
}

}  // namespace

// What the operator must fix (permissions, space, the disk, a lock held too
// long, a file gone), as opposed to a constraint or a bug.
bool SqliteError::unavailable() const noexcept {
    switch (code_ & 0xff) {
        case SQLITE_READONLY:
        case SQLITE_FULL:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_PERM:
        case SQLITE_NOMEM:
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
            return true;
        default:
            return false;
    }
}

// ---- Statement ----

Statement::~Statement() {
    // reset() repeats the last step's error; the caller has already seen it.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

void Statement::check_bind(int rc, int index) {
    if (rc != SQLITE_OK) fail(db_, "binding parameter " + std::to_string(index), rc);
}

Statement& Statement::bind(int index, const std::string& text) {
    check_bind(sqlite3_bind_text(stmt_, index, text.data(), int(text.size()), SQLITE_TRANSIENT),
               index);
    return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
    check_bind(sqlite3_bind_int64(stmt_, index, value), index);
    return *this;
}

Statement& Statement::bind_blob(int index, const std::vector<unsigned char>& blob) {
    // A zero-length blob with a null pointer would bind NULL; keep it a blob.
    static const unsigned char empty = 0;
    const void* data = blob.empty() ? &empty : blob.data();
    check_bind(sqlite3_bind_blob(stmt_, index, data, int(blob.size()), SQLITE_TRANSIENT), index);
    return *this;
}

Statement& Statement::bind_null(int index) {
    check_bind(sqlite3_bind_null(stmt_, index), index);
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, "executing statement", rc);
}

std::string Statement::text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    int n = sqlite3_column_bytes(stmt_, column);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p), std::size_t(n)) : std::string();
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::vector<unsigned char> Statement::blob(int column) const {
    const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, column));
    int n = sqlite3_column_bytes(stmt_, column);
    return p != nullptr ? std::vector<unsigned char>(p, p + n) : std::vector<unsigned char>();
}

// ---- Connection ----

Connection::Connection(const std::string& path, int busy_timeout_ms, bool create) : path_(path) {
    sqlite3* raw = nullptr;
    // NOMUTEX: SQLite's own per-connection mutex is redundant, the pool never
    // lets two threads hold the same connection.
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    db_.reset(raw);  // sqlite3_open_v2 may allocate a handle even on failure
    if (rc != SQLITE_OK) fail(db_.get(), "opening store " + path, rc);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw SqliteError("opening store " + path + ": " + std::strerror(errno), SQLITE_CANTOPEN);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    sqlite3_extended_result_codes(db_.get(), 1);
    sqlite3_busy_timeout(db_.get(), busy_timeout_ms);
    // Per-connection settings; journal_mode=WAL is persistent and set once
    // by the schema set-up. FULL syncs the WAL at every commit: a device is
    // answered only once its certificate, and the challenge it used up, are
    // on disk. NORMAL would let a power cut lose the last commits: issued
    // certificates the CA no longer knows, so cannot revoke, and one-time
    // challenges that could be redeemed again.
    exec("PRAGMA foreign_keys = ON");
    exec("PRAGMA synchronous = FULL");
    // After a checkpoint, truncate the WAL back to this size rather than
    // keep the largest it ever grew to.
    exec("PRAGMA journal_size_limit = 67108864");
}

void Connection::check_file_unchanged() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0)
        throw SqliteError(path_ + ": the store file is gone (" + std::strerror(errno) + ")", SQLITE_CANTOPEN);
    if (st.st_dev != dev_ || st.st_ino != ino_)
        throw SqliteError(path_ + ": the store file was replaced while in use", SQLITE_CANTOPEN);
}

void Connection::exec(const char* sql) {
    char* errmsg = nullptr;
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &errmsg);
    if (rc == SQLITE_OK) return;
    std::string why = errmsg != nullptr ? errmsg : sqlite3_errstr(rc);
    sqlite3_free(errmsg);
    throw SqliteError(path_ + ": " + why + " (in: " + sql + ")", sqlite3_extended_errcode(db_.get()));
}

std::string Connection::query_text(const char* sql) {
    Statement st = prepare(sql);
    return st.step() ? st.text(0) : std::string();
}

Statement Connection::prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        sqlite3_stmt* raw = nullptr;
        int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
        StmtHandle stmt(raw);
        if (rc != SQLITE_OK) fail(db_.get(), path_ + ": preparing '" + sql + "'", rc);
        it = cache_.emplace(sql, std::move(stmt)).first;
    }
    return Statement(db_.get(), it->second.get());
}

// ---- WriteTransaction ----

WriteTransaction::WriteTransaction(Connection& conn) : conn_(conn) {
    // IMMEDIATE takes the write lock now (waiting up to the busy timeout), so
    // the transaction cannot fail later on a reader-to-writer upgrade.
    conn_.check_file_unchanged();
    conn_.exec("BEGIN IMMEDIATE");
}

WriteTransaction::~WriteTransaction() {
    if (done_) return;
    try {
        conn_.exec("ROLLBACK");
    } catch (const StoreError&) {
        // SQLite may already have rolled back on its own (SQLITE_FULL, ...).
    }
}

void WriteTransaction::commit() {
    conn_.exec("COMMIT");
    done_ = true;
}

// ---- ConnectionPool ----

ConnectionPool::ConnectionPool(std::string path, int busy_timeout_ms, std::size_t max_connections, PoolTuning tuning)
    : path_(std::move(path)),
      busy_timeout_ms_(busy_timeout_ms),
      max_connections_(max_connections > 0 ? max_connections : 1),
      tuning_(tuning) {
    // give_back() is noexcept: make sure its push_back can never allocate.
    idle_.reserve(max_connections_);
}

ConnectionPool::Lease ConnectionPool::acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    available_.wait(lock, [this] { return !idle_.empty() || open_count_ < max_connections_; });
    if (!idle_.empty()) {
        std::unique_ptr<Connection> conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(conn));
    }
    ++open_count_;
    lock.unlock();  // opening touches the file system: not under the mutex
    try {
        auto conn = std::make_unique<Connection>(path_, busy_timeout_ms_);
        // 16384 pages (64 MiB at 4 KiB) against SQLite's 1000: reached only
        // if the checkpointer cannot keep up or keeps failing.
        if (tuning_.checkpoints_elsewhere) conn->exec("PRAGMA wal_autocheckpoint = 16384");
        if (tuning_.sync_at_checkpoints_only) conn->exec("PRAGMA synchronous = NORMAL");
        return Lease(*this, std::move(conn));
    } catch (...) {
        std::lock_guard<std::mutex> relock(mutex_);
        --open_count_;
        available_.notify_one();
        throw;
    }
}

void ConnectionPool::give_back(std::unique_ptr<Connection> conn) noexcept {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (conn != nullptr) {
            idle_.push_back(std::move(conn));
        } else {
            --open_count_;
        }
    }
    available_.notify_one();
}

}  // namespace scepter::sqlite
