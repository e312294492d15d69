// One-time challenge generation: the alphabet Windows and MDMs survive, the
// length, uniqueness, the stored hash, and recognising a challenge's form.
#include "challenge/challenge.h"
#include "util/digest_hex.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <map>
#include <set>
#include <stdexcept>

namespace scepter {
namespace {

bool alphanumeric(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

TEST(Challenge, LengthAndAlphabet) {
    for (int i = 0; i < 1000; ++i) {
        IssuedChallenge c = make_challenge("default", "alice", "admin", 1700000000, 60, "{}");
        ASSERT_EQ(c.challenge.size(), 32u);
        for (char ch : c.challenge) ASSERT_TRUE(alphanumeric(ch)) << c.challenge;
        EXPECT_EQ(c.record.id, challenge_id(c.challenge));
    }
}

TEST(Challenge, EveryCharacterOfTheAlphabetTurnsUp) {
    std::map<char, int> seen;
    for (int i = 0; i < 200; ++i) {
        for (char ch : make_challenge("p", "u", "r", 0, 1, "{}").challenge) ++seen[ch];
    }
    EXPECT_EQ(seen.size(), 62u);  // 6400 draws: a missing character would mean a bias
}

TEST(Challenge, UniqueOverTenThousand) {
    std::set<std::string> challenges;
    std::set<std::string> ids;
    for (int i = 0; i < 10000; ++i) {
        IssuedChallenge c = make_challenge("default", "alice", "admin", 1700000000, 60, "{}");
        challenges.insert(c.challenge);
        ids.insert(c.record.id);
    }
    EXPECT_EQ(challenges.size(), 10000u);
    EXPECT_EQ(ids.size(), 10000u);
}

TEST(Challenge, RecordCarriesHashAndMetadata) {
    IssuedChallenge c = make_challenge("vpn", "bob", "10.0.0.9", 1700000000, 45, R"({"subject":"CN=bob"})");
    EXPECT_EQ(c.record.secret_sha256, digest_hex(c.challenge, EVP_sha256()));
    EXPECT_EQ(c.record.secret_sha256.size(), 64u);
    EXPECT_EQ(c.record.secret_sha256.find(c.challenge), std::string::npos);
    EXPECT_EQ(c.record.profile, "vpn");
    EXPECT_EQ(c.record.user, "bob");
    EXPECT_EQ(c.record.requester, "10.0.0.9");
    EXPECT_EQ(c.record.created_at, 1700000000);
    EXPECT_EQ(c.record.expires_at, 1700000000 + 45 * 60);
    EXPECT_EQ(c.record.claims_json, R"({"subject":"CN=bob"})");
    EXPECT_EQ(c.record.status, "active");
    EXPECT_EQ(c.record.transaction_id, "");
    EXPECT_EQ(c.record.consumed_at, 0);
}

TEST(Challenge, Matches) {
    IssuedChallenge c = make_challenge("p", "u", "r", 0, 60, "{}");
    EXPECT_TRUE(challenge_matches(c.record, c.challenge));
    std::string wrong = c.challenge;
    wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
    EXPECT_FALSE(challenge_matches(c.record, wrong));
    EXPECT_FALSE(challenge_matches(c.record, ""));
    ChallengeRecord corrupt = c.record;
    corrupt.secret_sha256 = "abc";
    EXPECT_FALSE(challenge_matches(corrupt, c.challenge));
}

TEST(Challenge, RefusesNonPositiveValidity) {
    EXPECT_THROW(make_challenge("p", "u", "r", 0, 0, "{}"), std::invalid_argument);
    EXPECT_THROW(make_challenge("p", "u", "r", 0, -5, "{}"), std::invalid_argument);
}

TEST(Challenge, IdIsDerivedNeverAPartOfTheChallenge) {
    IssuedChallenge c = make_challenge("p", "u", "r", 0, 60, "{}");
    EXPECT_EQ(challenge_id(c.challenge), c.record.id);
    ASSERT_EQ(c.record.id.size(), 20u);
    EXPECT_EQ(c.record.id.find_first_not_of("0123456789abcdef"), std::string::npos);
    // No run of 4 characters of the challenge shows in its ID, nor the ID in
    // the stored hash.
    for (std::size_t i = 0; i + 4 <= c.challenge.size(); ++i)
        EXPECT_EQ(c.record.id.find(c.challenge.substr(i, 4)), std::string::npos) << i;
    EXPECT_EQ(c.record.secret_sha256.find(c.record.id), std::string::npos);
    // The same challenge always finds the same record; one character more or less, another.
    EXPECT_EQ(challenge_id("ABCDEFGHIJklmnopqrstuvwxyz012345"), challenge_id("ABCDEFGHIJklmnopqrstuvwxyz012345"));
    EXPECT_NE(challenge_id("ABCDEFGHIJklmnopqrstuvwxyz012345"), challenge_id("ABCDEFGHIJklmnopqrstuvwxyz012346"));
    EXPECT_EQ(challenge_id(""), "");
    EXPECT_EQ(challenge_id("ABCDEFGHIJ"), "");                          // the ID alone
    EXPECT_EQ(challenge_id("ABCDEFGHIJklmnopqrstuvwxyz01234"), "");     // 31
    EXPECT_EQ(challenge_id("ABCDEFGHIJklmnopqrstuvwxyz0123456"), "");   // 33
    EXPECT_EQ(challenge_id("ABCDEFGHIJklmnopqrstuvwxyz01234-"), "");    // not alphanumeric
    EXPECT_EQ(challenge_id("ABCDEFGHIJ klmnopqrstuvwxyz01234"), "");
    EXPECT_NE(challenge_id("0123456789ABCDEF0123456789ABCDEF"), "");  // hex is alphanumeric too
}

}  // namespace
}  // namespace scepter
