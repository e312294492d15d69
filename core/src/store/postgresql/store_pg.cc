// The PostgreSQL store: opening, certificates, transactions. Each process
// opens its own PgStore; its pool connects on first use (after fork, on a
// thread of the pool that runs the request), so nothing connects in nginx's
// master or Apache's parent.
#include "store/postgresql/store_pg.h"
#include "store/cert_match.h"
#include "store/store_columns.h"
#include "store/store_keys.h"

namespace scepter {
namespace {

constexpr const char* kCertInsertColumns =
    "serial, subject, sans, sha1, sha256, not_before, not_after, template, profile, "
    "transaction_id, requester_ip, issued_at, status, der, revoked_at, revocation_reason, requester";
constexpr const char* kCertSelectColumns = store_columns::kCert;

const std::string kInsertCert = std::string("INSERT INTO certificates (") + kCertInsertColumns +
                                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
constexpr const char* kSetRequester =
    "UPDATE certificates SET requester = COALESCE((SELECT user_name FROM challenges WHERE transaction_id = $2"
    " AND status = 'consumed' LIMIT 1), requester) WHERE serial = $1";
const std::string kListCerts = std::string("SELECT ") + kCertSelectColumns +
                               " FROM certificates ORDER BY issued_at DESC, seq DESC LIMIT $1";
const std::string kFindCert = std::string("SELECT ") + kCertSelectColumns +
                              " FROM certificates WHERE serial = $1 OR sha1 = $2 OR sha256 = $2"
                              " ORDER BY serial = $1 DESC LIMIT 1";
constexpr const char* kInsertTx =
    "INSERT INTO transactions (transaction_id, updated_at, profile, message_type, status, "
    "fail_info, fail_text, serial, requester_ip, request_sha256) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
constexpr const char* kFindTx =
    "SELECT transaction_id, updated_at, profile, message_type, status, fail_info, fail_text, "
    "COALESCE(serial, ''), requester_ip FROM transactions WHERE transaction_id = $1 "
    "ORDER BY updated_at DESC, id DESC LIMIT 1";
const std::string kFindIssuedRequest =
    std::string("SELECT ") + kCertSelectColumns +
    " FROM certificates WHERE serial = (SELECT serial FROM transactions WHERE request_sha256 = $1"
    " AND status = 'success' AND request_sha256 IS NOT NULL)";
// find_certs narrows in SQL, then cert_matches decides (store/cert_match.h).
const std::string kCandidateCerts =
    std::string("SELECT ") + kCertSelectColumns +
    " FROM certificates WHERE status <> 'revoked' AND not_after > $1 AND ($2 = '' OR strpos(%COLUMN%, $2) > 0)"
    " ORDER BY issued_at DESC, seq DESC";
const std::string kCertsByRequester =
    std::string("SELECT ") + kCertSelectColumns +
    " FROM certificates WHERE status <> 'revoked' AND not_after > $1 AND (requester = $2 OR requester_ip = $2"
    " OR transaction_id IN"
    " (SELECT transaction_id FROM challenges WHERE status = 'consumed' AND (user_name = $2 OR requester = $2)))"
    " ORDER BY issued_at DESC, seq DESC LIMIT $3";

// The unique constraints whose violation means something to the caller.
constexpr const char* kCertKey = "certificates_pkey";
constexpr const char* kOneIssuance = "transactions_one_issuance_per_request";

std::string candidates_on(const char* column) {
    std::string sql = kCandidateCerts;
    sql.replace(sql.find("%COLUMN%"), 8, column);
    return sql;
}

std::int64_t sql_limit(std::size_t limit) {
    constexpr std::size_t kMax = std::size_t(INT64_MAX);
    return std::int64_t(limit < kMax ? limit : kMax);
}

IssuedCert read_cert(const pg::Result& r, int row) {
    IssuedCert c;
    c.serial_hex = r.text(row, 0);
    c.subject = r.text(row, 1);
    c.sans = r.text(row, 2);
    c.sha1_hex = r.text(row, 3);
    c.sha256_hex = r.text(row, 4);
    c.not_before = r.integer(row, 5);
    c.not_after = r.integer(row, 6);
    c.template_name = r.text(row, 7);
    c.profile = r.text(row, 8);
    c.transaction_id = r.text(row, 9);
    c.requester_ip = r.text(row, 10);
    c.issued_at = r.integer(row, 11);
    c.status = r.text(row, 12);
    c.der = r.bytes(row, 13);
    c.revoked_at = r.integer(row, 14);
    c.revocation_reason = int(r.integer(row, 15));
    c.requester = r.text(row, 16);
    return c;
}

std::vector<IssuedCert> read_certs(const pg::Result& r) {
    std::vector<IssuedCert> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_cert(r, i));
    return out;
}

}  // namespace

PgStore::PgStore(const PgSettings& settings)
    : connect_{settings.conninfo, settings.password_file, settings.connect_timeout_s},
      pool_(connect_, settings.max_connections,
            [this](pg::Connection& conn) { on_open(conn); }) {}

void PgStore::on_open(pg::Connection& conn) {
    if (schema_ready_.load()) return;
    prepare_pg_schema(conn);
    schema_ready_.store(true);
}

void PgStore::insert_cert(pg::Connection& conn, const IssuedCert& cert) {
    std::string serial = stored_serial(cert.serial_hex);
    pg::Params p;
    p.text(serial).text(cert.subject).text(cert.sans);
    p.text(stored_thumbprint(cert.sha1_hex, "SHA-1")).text(stored_thumbprint(cert.sha256_hex, "SHA-256"));
    p.integer(cert.not_before).integer(cert.not_after).text(cert.template_name).text(cert.profile);
    p.text(cert.transaction_id).text(cert.requester_ip).integer(cert.issued_at).text(cert.status).bytes(cert.der);
    if (cert.status == "revoked") {
        p.integer(cert.revoked_at).integer(cert.revocation_reason);
    } else {
        p.null().null();
    }
    p.text_or_null(cert.requester);
    try {
        conn.exec(kInsertCert, p);
    } catch (const pg::PgError& e) {
        if (e.unique_violation() && e.constraint() == kCertKey)
            throw DuplicateSerial("serial " + serial + " is already in the store");
        throw;
    }
}

void PgStore::insert_tx(pg::Connection& conn, const TransactionRecord& tx) {
    pg::Params p;
    p.text(tx.transaction_id).integer(tx.updated_at).text(tx.profile).integer(tx.message_type).text(tx.status);
    p.text(tx.fail_info).text(tx.fail_text);
    if (tx.serial_hex.empty()) {
        p.null();
    } else {
        p.text(stored_serial(tx.serial_hex));
    }
    p.text(tx.requester_ip).text_or_null(tx.request_sha256);
    try {
        conn.exec(kInsertTx, p);
    } catch (const pg::PgError& e) {
        if (e.unique_violation() && e.constraint() == kOneIssuance)
            throw RequestAlreadyIssued("request " + tx.request_sha256 + " was issued a certificate already");
        throw;
    }
}

// One transaction: the certificate, its transaction, the pending request
// and the challenge commit together or not at all. The challenge last, as in
// the SQLite store, so a copy of an issued request is told so.
void PgStore::record_issuance(const IssuedCert& cert, const TransactionRecord& tx, const ChallengeUse& challenge) {
    auto conn = pool_.acquire();
    pg::Transaction write(*conn);
    insert_cert(*conn, cert);
    insert_tx(*conn, tx);
    mark_pending_issued(*conn, cert, tx);
    use_challenge(*conn, challenge);
    conn->exec(kSetRequester, pg::Params().text(stored_serial(cert.serial_hex)).text(tx.transaction_id));
    write.commit();
}

void PgStore::record_transaction(const TransactionRecord& tx) {
    auto conn = pool_.acquire();
    insert_tx(*conn, tx);  // one statement: its own transaction
}

std::vector<IssuedCert> PgStore::list_certs(std::size_t limit) {
    auto conn = pool_.acquire();
    return read_certs(conn->exec(kListCerts, pg::Params().integer(sql_limit(limit))));
}

std::optional<IssuedCert> PgStore::find_cert(const std::string& serial_or_thumbprint) {
    auto serial = canonical_serial(serial_or_thumbprint);
    auto thumbprint = canonical_thumbprint(serial_or_thumbprint);
    if (!serial || !thumbprint) return std::nullopt;
    auto conn = pool_.acquire();
    auto r = conn->exec(kFindCert, pg::Params().text(*serial).text(*thumbprint));
    if (r.rows() == 0) return std::nullopt;
    return read_cert(r, 0);
}

std::vector<IssuedCert> PgStore::find_certs(const CertMatch& match, std::int64_t now, std::size_t limit) {
    std::vector<IssuedCert> out;
    if (match.value.empty() || limit == 0) return out;
    auto conn = pool_.acquire();
    if (match.field == CertMatch::Field::requester) {
        return read_certs(conn->exec(kCertsByRequester,
                                     pg::Params().integer(now).text(match.value).integer(sql_limit(limit))));
    }
    bool by_subject = match.field == CertMatch::Field::subject_cn;
    auto r = conn->exec(candidates_on(by_subject ? "subject" : "sans"),
                        pg::Params().integer(now).text(narrowing_text(match)));
    for (int i = 0; i < r.rows() && out.size() < limit; ++i) {
        IssuedCert c = read_cert(r, i);
        if (cert_matches(match, c)) out.push_back(std::move(c));
    }
    return out;
}

std::optional<TransactionRecord> PgStore::find_transaction(const std::string& id) {
    auto conn = pool_.acquire();
    auto r = conn->exec(kFindTx, pg::Params().text(id));
    if (r.rows() == 0) return std::nullopt;
    TransactionRecord t;
    t.transaction_id = r.text(0, 0);
    t.updated_at = r.integer(0, 1);
    t.profile = r.text(0, 2);
    t.message_type = int(r.integer(0, 3));
    t.status = r.text(0, 4);
    t.fail_info = r.text(0, 5);
    t.fail_text = r.text(0, 6);
    t.serial_hex = r.text(0, 7);
    t.requester_ip = r.text(0, 8);
    return t;
}

std::optional<IssuedCert> PgStore::find_issued_request(const std::string& request_sha256) {
    if (request_sha256.empty()) return std::nullopt;
    auto conn = pool_.acquire();
    auto r = conn->exec(kFindIssuedRequest, pg::Params().text(request_sha256));
    if (r.rows() == 0) return std::nullopt;
    return read_cert(r, 0);
}

std::unique_ptr<Store> open_pg_store(const PgSettings& settings) { return std::make_unique<PgStore>(settings); }

std::string pg_conninfo_problem(const std::string& conninfo) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    std::unique_ptr<char, decltype(&PQfreemem)> err_owner(err, &PQfreemem);
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> owner(opts, &PQconninfoFree);
    // libpq's own message may quote a piece of the string, password included.
    if (!opts) return "is not a libpq connection string (key=value ...) or URI (postgresql://...)";
    for (auto* o = opts; o->keyword; ++o) {
        if (std::string(o->keyword) == "password" && o->val && *o->val)
            return "holds a password; put it in store.postgresql_password_file or libpq's PGPASSFILE instead";
    }
    return "";
}

}  // namespace scepter
