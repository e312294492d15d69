// The PostgreSQL store's one-time challenges. Consuming one is a single
// UPDATE ... WHERE status = 'active' RETURNING: among racing nodes the
// row lock lets one through, and the others re-check the row as that one
// committed it and match nothing. Issuing one counts the requester's live
// challenges and inserts under an advisory transaction lock per requester
// and profile, so two admins on two nodes cannot both slip under the quota.
#include "store/postgresql/store_pg.h"
#include "util/digest_hex.h"

namespace scepter {
namespace {

constexpr const char* kChallengeColumns =
    "id, secret_sha256, profile, user_name, requester, created_at, expires_at, claims_json, status, "
    "transaction_id, consumed_at";
const std::string kInsertChallenge = std::string("INSERT INTO challenges (") + kChallengeColumns +
                                     ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', NULL, NULL)"
                                     " ON CONFLICT (id) DO NOTHING";
constexpr const char* kLockQuota = "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(1) || $2, 0))";
constexpr const char* kCountActive =
    "SELECT COUNT(*) FROM challenges WHERE requester = $1 AND profile = $3 AND status = 'active' AND expires_at > $2";
constexpr const char* kSelectChallenges =
    "SELECT id, secret_sha256, profile, user_name, requester, created_at, expires_at, claims_json, status, "
    "COALESCE(transaction_id, ''), COALESCE(consumed_at, 0) FROM challenges";
constexpr const char* kConsumeChallenge =
    "UPDATE challenges SET status = 'consumed', transaction_id = $2, consumed_at = $3 "
    "WHERE id = $1 AND status = 'active' AND expires_at > $3 RETURNING id";
constexpr const char* kPurgeChallenges = "DELETE FROM challenges WHERE expires_at < $1";
constexpr const char* kWithdrawUnused = "DELETE FROM challenges WHERE status = 'active' AND ($1 = '' OR requester = $1)";

ChallengeRecord read_challenge(const pg::Result& r, int row) {
    ChallengeRecord c;
    c.id = r.text(row, 0);
    c.secret_sha256 = r.text(row, 1);
    c.profile = r.text(row, 2);
    c.user = r.text(row, 3);
    c.requester = r.text(row, 4);
    c.created_at = r.integer(row, 5);
    c.expires_at = r.integer(row, 6);
    c.claims_json = r.text(row, 7);
    c.status = r.text(row, 8);
    c.transaction_id = r.text(row, 9);
    c.consumed_at = r.integer(row, 10);
    return c;
}

std::string stored_secret_hash(const std::string& hex) {
    auto h = canonical_digest_hex(hex, 32);
    if (!h) throw StoreError("a challenge's secret_sha256 must be 64 hex digits");
    return *h;
}

}  // namespace

void PgStore::add_challenge(const ChallengeRecord& c, std::size_t max_active, std::int64_t now) {
    if (c.id.empty()) throw StoreError("a challenge needs an ID");
    if (c.status != "active") throw StoreError("a new challenge must be active, not '" + c.status + "'");
    std::string secret_hash = stored_secret_hash(c.secret_sha256);

    auto conn = pool_.acquire();
    pg::Transaction write(*conn);
    if (max_active > 0) {
        conn->exec(kLockQuota, pg::Params().text(c.requester).text(c.profile));
        auto count = conn->exec(kCountActive, pg::Params().text(c.requester).integer(now).text(c.profile));
        std::int64_t active = count.integer(0, 0);
        if (active >= 0 && std::size_t(active) >= max_active) {
            throw ChallengeQuotaFull("requester '" + c.requester + "' already holds " + std::to_string(active) +
                                     " unused challenges for profile '" + c.profile + "' (the limit is " +
                                     std::to_string(max_active) + ")");
        }
    }
    pg::Params p;
    p.text(c.id).text(secret_hash).text(c.profile).text(c.user).text(c.requester);
    p.integer(c.created_at).integer(c.expires_at).text(c.claims_json);
    if (conn->exec(kInsertChallenge, p).affected() != 1)
        throw StoreError("a challenge with ID " + c.id + " is already in the store");
    write.commit();
}

std::optional<ChallengeRecord> PgStore::find_challenge(const std::string& id) {
    auto conn = pool_.acquire();
    auto r = conn->exec(std::string(kSelectChallenges) + " WHERE id = $1", pg::Params().text(id));
    if (r.rows() == 0) return std::nullopt;
    return read_challenge(r, 0);
}

std::vector<ChallengeRecord> PgStore::list_unused_challenges(std::int64_t now) {
    auto conn = pool_.acquire();
    auto r = conn->exec(std::string(kSelectChallenges) +
                            " WHERE status = 'active' AND expires_at > $1 ORDER BY created_at, id",
                        pg::Params().integer(now));
    std::vector<ChallengeRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_challenge(r, i));
    return out;
}

bool PgStore::consume_challenge(const std::string& id, const std::string& transaction_id, std::int64_t now) {
    auto conn = pool_.acquire();
    try {
        use_challenge(*conn, {id, transaction_id, now});  // one statement: its own transaction
    } catch (const ChallengeAlreadyUsed&) {
        return false;
    }
    return true;
}

void PgStore::use_challenge(pg::Connection& conn, const ChallengeUse& challenge) {
    if (challenge.id.empty()) return;
    auto r = conn.exec(kConsumeChallenge,
                       pg::Params().text(challenge.id).text(challenge.transaction_id).integer(challenge.checked_at));
    if (r.rows() != 1) throw ChallengeAlreadyUsed("challenge " + challenge.id + " is used, withdrawn or expired");
}

std::size_t PgStore::purge_challenges(std::int64_t before) {
    auto conn = pool_.acquire();
    return std::size_t(conn->exec(kPurgeChallenges, pg::Params().integer(before)).affected());
}

std::size_t PgStore::withdraw_unused_challenges(const std::string& requester) {
    auto conn = pool_.acquire();
    return std::size_t(conn->exec(kWithdrawUnused, pg::Params().text(requester)).affected());
}

}  // namespace scepter
