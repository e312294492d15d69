// A worker's signed OCSP responses for requests without a nonce (RFC 5019):
// the same bytes answer every such request about a certificate until its
// status changes or the response is half-way to its nextUpdate, so the
// common case costs a lookup, not a signature.
//
// Revocations come from any process (the CLI, other workers), so an entry
// is trusted only under the generation it was built in: a revocation seen
// in the store drops the entries of the serials it concerns and moves the
// generation on, and a response whose status was read before that (still
// being signed meanwhile) is not kept.
#pragma once

#include "scepter/pki_message.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace scepter {

struct CachedOcsp {
    Bytes der;
    std::int64_t this_update = 0;
    std::int64_t next_update = 0;
    std::string etag;
    std::string serial_hex;
    bool revoked = false;
};

class OcspCache {
   public:
    explicit OcspCache(std::size_t max_entries) : max_entries_(max_entries) {}

    // The entry for a CertID, unless absent or due for renewal at `now`.
    std::shared_ptr<const CachedOcsp> find(const std::string& key, std::int64_t now) const;
    // Read before the status that goes into an entry is read from the store.
    std::uint64_t generation() const;
    // Kept only if the generation is still `generation`. When full, an
    // arbitrary entry makes room: the cache is a cost saver, never the truth.
    void insert(const std::string& key, std::shared_ptr<const CachedOcsp> entry, std::uint64_t generation);
    // Drops the "good" entries of these serials; the generation moves on.
    void revoked(const std::set<std::string>& serials);
    std::size_t size() const;

   private:
    const std::size_t max_entries_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const CachedOcsp>> entries_;
    std::uint64_t generation_ = 0;
};

}  // namespace scepter
