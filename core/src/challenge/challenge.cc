#include "challenge/challenge.h"

#include "scepter/openssl_error.h"
#include "util/digest_hex.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace scepter {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr unsigned kAlphabetSize = sizeof kAlphabet - 1;  // 62
// The largest multiple of 62 that fits in a byte: 248. Bytes at or above it
// are dropped, so that `byte % 62` is uniform (no modulo bias).
constexpr unsigned kAcceptBelow = 256 - 256 % kAlphabetSize;
static_assert(kAlphabetSize == 62 && kAcceptBelow == 248, "alphabet is [A-Za-z0-9]");

bool in_alphabet(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

std::string random_characters(std::size_t count) {
    std::string out;
    out.reserve(count);
    unsigned char buf[64];
    while (out.size() < count) {
        clear_openssl_errors();
        check(RAND_bytes(buf, int(sizeof buf)) == 1, "RAND_bytes");
        for (unsigned char b : buf) {
            if (b >= kAcceptBelow) continue;
            out += kAlphabet[b % kAlphabetSize];
            if (out.size() == count) break;
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return out;
}

}  // namespace

IssuedChallenge make_challenge(const std::string& profile, const std::string& user, const std::string& requester,
                               std::int64_t now, int validity_minutes, const std::string& claims_json) {
    if (validity_minutes <= 0) {
        throw std::invalid_argument("a challenge's validity must be at least one minute, not " +
                                    std::to_string(validity_minutes));
    }
    IssuedChallenge out;
    out.challenge = random_characters(kChallengeLength);
    ChallengeRecord& r = out.record;
    r.id = challenge_id(out.challenge);
    r.secret_sha256 = digest_hex(out.challenge, EVP_sha256());
    r.profile = profile;
    r.user = user;
    r.requester = requester;
    r.created_at = now;
    r.expires_at = now + std::int64_t(validity_minutes) * 60;
    r.claims_json = claims_json;
    r.status = "active";
    return out;
}

std::string challenge_id(const std::string& challenge) {
    if (challenge.size() != kChallengeLength) return "";
    for (char ch : challenge) {
        if (!in_alphabet(ch)) return "";
    }
    // The label keeps the ID apart from secret_sha256, the stored hash of
    // the same string: knowing one says nothing about the other.
    return digest_hex("scepter challenge id\n" + challenge, EVP_sha256()).substr(0, kChallengeIdLength);
}

bool challenge_matches(const ChallengeRecord& record, const std::string& challenge) {
    std::string got = digest_hex(challenge, EVP_sha256());
    // Both are lower-case hex of a SHA-256: the lengths differ only for a
    // corrupt record, which matches nothing.
    if (got.size() != record.secret_sha256.size()) return false;
    return CRYPTO_memcmp(got.data(), record.secret_sha256.data(), got.size()) == 0;
}

}  // namespace scepter
