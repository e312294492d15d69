// Thin RAII layer over libpq, for the PostgreSQL store.
//
// A Connection is used by one thread at a time; the ConnectionPool hands
// connections out under its own mutex, opens them lazily (so a worker
// connects after fork, on its thread pool, never in nginx's master or
// Apache's parent) and drops a broken one, so that the next request
// reconnects by itself.
#pragma once

#include "scepter/store.h"

#include <libpq-fe.h>
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace scepter::pg {

// A failed libpq call. unavailable(): the connection broke or the server is
// going away or cannot serve now (SQLSTATE class 08, 53, 57P0x, a deadlock
// or serialization failure); the operation wrote nothing and may be retried.
class PgError : public StoreError {
   public:
    PgError(const std::string& what, std::string sqlstate, std::string constraint, bool unavailable)
        : StoreError(what), sqlstate_(std::move(sqlstate)), constraint_(std::move(constraint)),
          unavailable_(unavailable) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    const std::string& constraint() const noexcept { return constraint_; }
    bool unique_violation() const noexcept { return sqlstate_ == "23505"; }
    bool unavailable() const noexcept override { return unavailable_; }

   private:
    std::string sqlstate_;
    std::string constraint_;
    bool unavailable_;
};

struct FinishConn {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ClearResult {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ConnHandle = std::unique_ptr<PGconn, FinishConn>;
using ResultHandle = std::unique_ptr<PGresult, ClearResult>;

// Parameters of one statement ($1, $2, ... in the order added): text, or
// binary for bytea, or NULL.
class Params {
   public:
    Params& text(const std::string& v);
    Params& integer(std::int64_t v);
    Params& bytes(const std::vector<unsigned char>& v);
    Params& null();
    // NULL when empty.
    Params& text_or_null(const std::string& v) { return v.empty() ? null() : text(v); }

    int size() const noexcept { return int(values_.size()); }
    std::vector<const char*> values() const;
    const int* lengths() const noexcept { return lengths_.data(); }
    const int* formats() const noexcept { return formats_.data(); }

   private:
    std::vector<std::optional<std::string>> values_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
};

// The rows of one statement, read as text (bytea decoded).
class Result {
   public:
    explicit Result(ResultHandle r) noexcept : r_(std::move(r)) {}
    int rows() const noexcept { return PQntuples(r_.get()); }
    std::int64_t affected() const;
    bool is_null(int row, int column) const noexcept { return PQgetisnull(r_.get(), row, column) != 0; }
    std::string text(int row, int column) const;
    std::int64_t integer(int row, int column) const;  // 0 when NULL
    std::vector<unsigned char> bytes(int row, int column) const;

   private:
    ResultHandle r_;
};

// Where and how to connect. The password comes from password_file (read at
// each connect, so it can be rotated) or from libpq's own ways (PGPASSFILE,
// ~/.pgpass); never from the conninfo, which the configuration refuses.
struct ConnectSettings {
    std::string conninfo;
    std::string password_file;
    int connect_timeout_s = 5;
};

class Connection {
   public:
    explicit Connection(const ConnectSettings& settings);

    Result exec(const std::string& sql, const Params& params = {});
    // Statements without parameters whose rows nobody reads (BEGIN, DDL):
    // several may be given at once, separated by semicolons.
    void run(const std::string& sql);
    bool broken() const noexcept { return broken_ || PQstatus(conn_.get()) == CONNECTION_BAD; }
    // In a forked child: forgets the parent's socket without closing it (a
    // Terminate message from here would end the parent's session).
    void abandon() noexcept { static_cast<void>(conn_.release()); }

   private:
    [[noreturn]] void fail(const PGresult* r, const std::string& sql);
    const std::string* prepared(const std::string& sql, int n_params);
    ConnHandle conn_;
    bool broken_ = false;
    // Statement text -> server-side name: each is parsed and planned once
    // per connection instead of on every call (issuance runs ~6 of them).
    std::unordered_map<std::string, std::string> prepared_;
};

// BEGIN on construction, ROLLBACK on destruction unless committed.
class Transaction {
   public:
    explicit Transaction(Connection& conn);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();
    void commit();

   private:
    Connection& conn_;
    bool done_ = false;
};

class ConnectionPool {
   public:
    // on_open runs once on every new connection (the schema check).
    ConnectionPool(ConnectSettings settings, std::size_t max_connections,
                   std::function<void(Connection&)> on_open);
    ~ConnectionPool();

    class Lease {
       public:
        Lease(ConnectionPool& pool, std::unique_ptr<Connection> conn) noexcept
            : pool_(pool), conn_(std::move(conn)) {}
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { pool_.release(std::move(conn_)); }
        Connection* operator->() const noexcept { return conn_.get(); }
        Connection& operator*() const noexcept { return *conn_; }

       private:
        ConnectionPool& pool_;
        std::unique_ptr<Connection> conn_;
    };

    Lease acquire();

   private:
    void release(std::unique_ptr<Connection> conn) noexcept;
    const ConnectSettings settings_;
    const std::size_t max_;
    std::function<void(Connection&)> on_open_;
    const pid_t owner_;  // a child of a fork must not use (or close) its parent's sockets
    std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_ = 0;
};

}  // namespace scepter::pg
