// The SQLite store's one-time challenges (NDES's mscep_admin passwords).
// Issuing one counts the requester's live challenges and inserts inside one
// BEGIN IMMEDIATE, so two admins asking at once cannot both slip under the
// quota. Consuming one is a single conditional UPDATE: among any number of
// racing workers (threads or processes) exactly one matches the row.
#include "store/sqlite/store_sqlite.h"
#include "util/digest_hex.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>

namespace scepter {
namespace {

constexpr const char* kChallengeColumns =
    "id, secret_sha256, profile, user, requester, created_at, expires_at, claims_json, status, "
    "transaction_id, consumed_at";

const std::string kInsertChallenge = std::string("INSERT INTO challenges (") + kChallengeColumns +
                                     ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'active', NULL, NULL)";
// Served by challenges_by_requester (requester, status, expires_at).
constexpr const char* kCountActive =
    "SELECT COUNT(*) FROM challenges WHERE requester = ?1 AND profile = ?3 AND status = 'active' AND expires_at > ?2";
const std::string kFindChallenge =
    "SELECT id, secret_sha256, profile, user, requester, created_at, expires_at, claims_json, status, "
    "COALESCE(transaction_id, ''), COALESCE(consumed_at, 0) FROM challenges WHERE id = ?1";
constexpr const char* kConsumeChallenge =
    "UPDATE challenges SET status = 'consumed', transaction_id = ?2, consumed_at = ?3 "
    "WHERE id = ?1 AND status = 'active' AND expires_at > ?3";
const std::string kListUnused =
    "SELECT id, secret_sha256, profile, user, requester, created_at, expires_at, claims_json, status, "
    "COALESCE(transaction_id, ''), COALESCE(consumed_at, 0) FROM challenges WHERE status = 'active' AND expires_at > ?1"
    " ORDER BY created_at, id";
constexpr const char* kPurgeChallenges = "DELETE FROM challenges WHERE expires_at < ?1";
constexpr const char* kWithdrawUnused = "DELETE FROM challenges WHERE status = 'active' AND (?1 = '' OR requester = ?1)";

ChallengeRecord read_challenge(const sqlite::Statement& st) {
    ChallengeRecord c;
    c.id = st.text(0);
    c.secret_sha256 = st.text(1);
    c.profile = st.text(2);
    c.user = st.text(3);
    c.requester = st.text(4);
    c.created_at = st.integer(5);
    c.expires_at = st.integer(6);
    c.claims_json = st.text(7);
    c.status = st.text(8);
    c.transaction_id = st.text(9);
    c.consumed_at = st.integer(10);
    return c;
}

// Lower-case, so that comparing with a freshly computed digest_hex is a
// plain (constant-time) byte comparison.
std::string stored_secret_hash(const std::string& hex) {
    auto h = canonical_digest_hex(hex, 32);
    if (!h) throw StoreError("a challenge's secret_sha256 must be 64 hex digits");
    return *h;
}

}  // namespace

void SqliteStore::add_challenge(const ChallengeRecord& c, std::size_t max_active, std::int64_t now) {
    if (c.id.empty()) throw StoreError("a challenge needs an ID");
    if (c.status != "active") throw StoreError("a new challenge must be active, not '" + c.status + "'");
    std::string secret_hash = stored_secret_hash(c.secret_sha256);

    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    if (max_active > 0) {
        auto count = conn->prepare(kCountActive);
        count.bind(1, c.requester).bind(2, now).bind(3, c.profile);
        std::int64_t active = count.step() ? count.integer(0) : 0;
        if (active >= 0 && std::size_t(active) >= max_active) {
            throw ChallengeQuotaFull("requester '" + c.requester + "' already holds " + std::to_string(active) +
                                     " unused challenges for profile '" + c.profile + "' (the limit is " +
                                     std::to_string(max_active) + ")");
        }
    }
    auto insert = conn->prepare(kInsertChallenge.c_str());
    insert.bind(1, c.id).bind(2, secret_hash).bind(3, c.profile).bind(4, c.user).bind(5, c.requester);
    insert.bind(6, c.created_at).bind(7, c.expires_at).bind(8, c.claims_json);
    try {
        insert.step();
    } catch (const sqlite::SqliteError& e) {
        if (e.code() == SQLITE_CONSTRAINT_PRIMARYKEY) {
            throw StoreError("a challenge with ID " + c.id + " is already in the store");
        }
        throw;
    }
    write.commit();
}

std::optional<ChallengeRecord> SqliteStore::find_challenge(const std::string& id) {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kFindChallenge.c_str());
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return read_challenge(st);
}

// BEGIN IMMEDIATE takes the write lock first (waiting in the busy handler),
// so the UPDATE reads the row as the last winner committed it.
bool SqliteStore::consume_challenge(const std::string& id, const std::string& transaction_id, std::int64_t now) {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    try {
        use_challenge(*conn, {id, transaction_id, now});
    } catch (const ChallengeAlreadyUsed&) {
        return false;  // nothing changed; `write` rolls back
    }
    write.commit();
    return true;
}

void SqliteStore::use_challenge(sqlite::Connection& conn, const ChallengeUse& challenge) {
    if (challenge.id.empty()) return;
    conn.prepare(kConsumeChallenge).bind(1, challenge.id).bind(2, challenge.transaction_id)
        .bind(3, challenge.checked_at).step();
    if (conn.changes() != 1)
        throw ChallengeAlreadyUsed("challenge " + challenge.id + " is used, withdrawn or expired");
}

std::vector<ChallengeRecord> SqliteStore::list_unused_challenges(std::int64_t now) {
    auto conn = pool_.acquire();
    auto st = conn->prepare(kListUnused.c_str());
    st.bind(1, now);
    std::vector<ChallengeRecord> out;
    while (st.step()) out.push_back(read_challenge(st));
    return out;
}

std::size_t SqliteStore::purge_challenges(std::int64_t before) {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    conn->prepare(kPurgeChallenges).bind(1, before).step();
    auto purged = std::size_t(conn->changes());
    write.commit();
    return purged;
}

std::size_t SqliteStore::withdraw_unused_challenges(const std::string& requester) {
    auto conn = pool_.acquire();
    sqlite::WriteTransaction write(*conn);
    conn->prepare(kWithdrawUnused).bind(1, requester).step();
    auto withdrawn = std::size_t(conn->changes());
    write.commit();
    return withdrawn;
}

}  // namespace scepter
