// The libpq layer: parameters, results, errors, connections and the pool.
#include "store/postgresql/pg_db.h"

#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace scepter::pg {
namespace {

struct FreeMem {
    void operator()(unsigned char* p) const noexcept { PQfreemem(p); }
};

// Nothing was written and a later attempt may succeed: the connection or
// the server is the problem, not the statement.
bool unavailable_state(const std::string& s) {
    if (s.size() != 5) return false;
    std::string cls = s.substr(0, 2);
    return cls == "08" || cls == "53" || cls == "57" || s == "40001" || s == "40P01";
}

std::string field(const PGresult* r, int code) {
    const char* v = r ? PQresultErrorField(r, code) : nullptr;
    return v ? v : "";
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

// The first line of the file, without its line end.
std::string read_password(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line))
        throw PgError("store.postgresql_password_file " + path + " cannot be read", "", "", true);
    return trimmed(line);
}

// Where, for messages: host, port and database, never the conninfo itself.
std::string where(PGconn* c) {
    std::string host = PQhost(c) ? PQhost(c) : "";
    std::string port = PQport(c) ? PQport(c) : "";
    std::string db = PQdb(c) ? PQdb(c) : "";
    return "PostgreSQL " + host + (port.empty() ? "" : ":" + port) + "/" + db;
}

}  // namespace

// ---- Params ----

Params& Params::text(const std::string& v) {
    values_.emplace_back(v);
    lengths_.push_back(int(v.size()));
    formats_.push_back(0);
    return *this;
}

Params& Params::integer(std::int64_t v) { return text(std::to_string(v)); }

Params& Params::bytes(const std::vector<unsigned char>& v) {
    values_.emplace_back(std::string(v.begin(), v.end()));
    lengths_.push_back(int(v.size()));
    formats_.push_back(1);
    return *this;
}

Params& Params::null() {
    values_.emplace_back(std::nullopt);
    lengths_.push_back(0);
    formats_.push_back(0);
    return *this;
}

std::vector<const char*> Params::values() const {
    std::vector<const char*> out;
    for (const auto& v : values_) out.push_back(v ? v->data() : nullptr);
    return out;
}

// ---- Result ----

std::int64_t Result::affected() const {
    const char* n = PQcmdTuples(r_.get());
    return n && *n ? std::stoll(n) : 0;
}

std::string Result::text(int row, int column) const {
    if (is_null(row, column)) return "";
    return std::string(PQgetvalue(r_.get(), row, column), std::size_t(PQgetlength(r_.get(), row, column)));
}

std::int64_t Result::integer(int row, int column) const {
    if (is_null(row, column)) return 0;
    return std::stoll(PQgetvalue(r_.get(), row, column));
}

std::vector<unsigned char> Result::bytes(int row, int column) const {
    if (is_null(row, column)) return {};
    std::size_t n = 0;
    std::unique_ptr<unsigned char, FreeMem> raw(
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, column)), &n));
    if (!raw) throw StoreError("PostgreSQL: a bytea column could not be decoded");
    return std::vector<unsigned char>(raw.get(), raw.get() + n);
}

// ---- Connection ----

Connection::Connection(const ConnectSettings& settings) {
    std::string password = settings.password_file.empty() ? "" : read_password(settings.password_file);
    std::string timeout = std::to_string(settings.connect_timeout_s);
    // Earlier entries are defaults the conninfo (expanded from dbname) may
    // override; the password file, when given, comes after it.
    std::vector<const char*> keys = {"connect_timeout", "application_name", "dbname"};
    std::vector<const char*> values = {timeout.c_str(), "scepter", settings.conninfo.c_str()};
    if (!password.empty()) {
        keys.push_back("password");
        values.push_back(password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_.reset(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
    if (!conn_) throw PgError("PostgreSQL: out of memory while connecting", "", "", true);
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
        throw PgError("cannot connect to " + where(conn_.get()) + ": " + trimmed(PQerrorMessage(conn_.get())), "",
                      "", true);
    }
    // libpq prints the server's notices ("relation ... already exists,
    // skipping" from the migrations) on stderr: in a worker, raw lines in the
    // web server's error log without an ID; errors reach us as results.
    PQsetNoticeProcessor(conn_.get(), [](void*, const char*) {}, nullptr);
}

// Only statements with parameters are prepared: they are the ones repeated
// per request; the rest (schema, migrations) run once and may change tables
// a prepared SELECT would depend on. A bounded cache, in case a caller ever
// builds statement text from data.
const std::string* Connection::prepared(const std::string& sql, int n_params) {
    constexpr std::size_t kMaxPrepared = 64;
    if (n_params == 0) return nullptr;
    auto found = prepared_.find(sql);
    if (found != prepared_.end()) return &found->second;
    if (prepared_.size() >= kMaxPrepared) return nullptr;
    std::string name = "scepter_" + std::to_string(prepared_.size());
    ResultHandle r(PQprepare(conn_.get(), name.c_str(), sql.c_str(), n_params, nullptr));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) fail(r.get(), sql);
    return &prepared_.emplace(sql, std::move(name)).first->second;
}

Result Connection::exec(const std::string& sql, const Params& params) {
    auto values = params.values();
    const char* const* data = params.size() ? values.data() : nullptr;
    const std::string* name = prepared(sql, params.size());
    ResultHandle r(name ? PQexecPrepared(conn_.get(), name->c_str(), params.size(), data, params.lengths(),
                                         params.formats(), 0)
                        : PQexecParams(conn_.get(), sql.c_str(), params.size(), nullptr, data, params.lengths(),
                                       params.formats(), 0));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(r.get(), sql);
    return Result(std::move(r));
}

void Connection::run(const std::string& sql) {
    ResultHandle r(PQexec(conn_.get(), sql.c_str()));
    ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(r.get(), sql);
}

void Connection::fail(const PGresult* r, const std::string& sql) {
    std::string state = field(r, PG_DIAG_SQLSTATE);
    bool gone = PQstatus(conn_.get()) == CONNECTION_BAD;
    bool unavailable = gone || unavailable_state(state);
    if (unavailable) broken_ = true;  // the pool drops it; the next request reconnects
    std::string msg = r ? trimmed(PQresultErrorMessage(r)) : "";
    if (msg.empty()) msg = trimmed(PQerrorMessage(conn_.get()));
    std::size_t b = sql.find_first_not_of(" \n");
    std::string verb = b == std::string::npos ? "" : sql.substr(b, sql.find_first_of(" \n(", b) - b);
    throw PgError(where(conn_.get()) + ": " + verb + " failed" + (state.empty() ? "" : " (SQLSTATE " + state + ")") +
                      ": " + msg,
                  state, field(r, PG_DIAG_CONSTRAINT_NAME), unavailable);
}

// ---- Transaction ----

Transaction::Transaction(Connection& conn) : conn_(conn) { conn_.run("BEGIN"); }

Transaction::~Transaction() {
    if (done_ || conn_.broken()) return;
    try {
        conn_.run("ROLLBACK");
    } catch (...) {
        // The connection is marked broken by then, or nothing is left to undo.
    }
}

void Transaction::commit() {
    conn_.run("COMMIT");
    done_ = true;
}

// ---- ConnectionPool ----

ConnectionPool::ConnectionPool(ConnectSettings settings, std::size_t max_connections,
                               std::function<void(Connection&)> on_open)
    : settings_(std::move(settings)), max_(max_connections), on_open_(std::move(on_open)), owner_(getpid()) {}

ConnectionPool::~ConnectionPool() {
    if (getpid() == owner_) return;
    for (auto& c : idle_) c->abandon();
}

ConnectionPool::Lease ConnectionPool::acquire() {
    if (getpid() != owner_) throw StoreError("PostgreSQL store used across a fork; each process opens its own");
    std::unique_lock<std::mutex> lock(mutex_);
    freed_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(conn));
    }
    ++open_;
    lock.unlock();
    try {
        auto conn = std::make_unique<Connection>(settings_);
        if (on_open_) on_open_(*conn);
        return Lease(*this, std::move(conn));
    } catch (...) {
        lock.lock();
        --open_;
        freed_.notify_one();
        throw;
    }
}

void ConnectionPool::release(std::unique_ptr<Connection> conn) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (conn && !conn->broken()) {
        idle_.push_back(std::move(conn));
    } else {
        --open_;  // closed here; the next acquire opens a fresh one
    }
    freed_.notify_one();
}

}  // namespace scepter::pg
