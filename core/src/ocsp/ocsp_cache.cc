#include "ocsp/ocsp_cache.h"

namespace scepter {

std::shared_ptr<const CachedOcsp> OcspCache::find(const std::string& key, std::int64_t now) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    const CachedOcsp& e = *it->second;
    // Renewed half-way, so that what a client caches stays valid a while.
    if (now >= e.this_update + (e.next_update - e.this_update) / 2) return nullptr;
    return it->second;
}

std::uint64_t OcspCache::generation() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return generation_;
}

void OcspCache::insert(const std::string& key, std::shared_ptr<const CachedOcsp> entry, std::uint64_t generation) {
    if (max_entries_ == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != generation_) return;
    if (entries_.size() >= max_entries_ && entries_.find(key) == entries_.end()) entries_.erase(entries_.begin());
    entries_[key] = std::move(entry);
}

void OcspCache::revoked(const std::set<std::string>& serials) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (!it->second->revoked && serials.count(it->second->serial_hex)) it = entries_.erase(it);
        else ++it;
    }
}

std::size_t OcspCache::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
}

}  // namespace scepter
