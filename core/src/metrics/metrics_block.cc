#include "metrics/metrics_block.h"

#include <cstring>
#include <ctime>
#include <new>
#include <thread>

namespace scepter::metrics {

const char* const kOperationNames[kOperations] = {"GetCACaps", "GetCACert", "GetNextCACert", "PKIOperation", "CRL",
                                                  "admin",     "mscep_admin", "metrics",     "other"};
const char* const kMessageTypeNames[kMessageTypes] = {"", "PKCSReq", "RenewalReq", "CertPoll", "GetCert", "GetCRL", "other"};
const char* const kOutcomeNames[kOutcomes] = {"success", "failure", "pending", "rejected", "error"};
const char* const kChallengeEventNames[kChallengeEvents] = {"issued", "consumed", "expired", "refused_quota"};
const char* const kValidationCallNames[kValidationCalls] = {"validate", "notify"};
const double kBucketBounds[kBuckets] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

namespace {

constexpr const char* kOther = "other";

void name_slot(LabelSlot& slot, std::string_view name) {
    slot.length = std::uint32_t(name.size());
    std::memcpy(slot.name, name.data(), name.size());
    slot.state.store(2, std::memory_order_release);
}

}  // namespace

Block* attach_block(void* mem, std::size_t len) noexcept {
    if (mem == nullptr || len < sizeof(Block) || reinterpret_cast<std::uintptr_t>(mem) % alignof(Block) != 0)
        return nullptr;
    auto* b = static_cast<Block*>(mem);
    if (b->magic == kMagic && b->version == kLayoutVersion && b->size == sizeof(Block)) return b;
    // Zeroed memory is a valid state for every atomic here; placement new
    // makes it a Block in the language's eyes too.
    b = new (mem) Block;
    std::memset(static_cast<void*>(b), 0, sizeof(Block));
    b->started_at.store(std::uint64_t(std::time(nullptr)));
    name_slot(b->profiles[kProfiles - 1], kOther);
    name_slot(b->steps[kSteps - 1], kOther);
    name_slot(b->reasons[kReasons - 1], kOther);
    b->version = kLayoutVersion;
    b->size = sizeof(Block);
    b->magic = kMagic;
    return b;
}

std::string_view slot_name(const LabelSlot& slot) noexcept {
    if (slot.state.load(std::memory_order_acquire) != 2) return {};
    return {slot.name, std::min<std::size_t>(slot.length, kNameBytes)};
}

int label_slot(LabelSlot* table, int n, std::string_view name) noexcept {
    const int other = n - 1;
    if (name.empty() || name.size() > kNameBytes || name == kOther) return other;
    for (int i = 0; i < other; ++i) {
        LabelSlot& slot = table[i];
        std::uint32_t state = slot.state.load(std::memory_order_acquire);
        if (state == 0) {
            if (slot.state.compare_exchange_strong(state, 1, std::memory_order_acq_rel)) {
                name_slot(slot, name);
                return i;
            }
        }
        // Another worker is writing this slot's name (a few bytes): wait
        // briefly. One killed mid-write leaves it at 1; it is skipped then.
        for (int spins = 0; state == 1 && spins < 1000; ++spins) {
            std::this_thread::yield();
            state = slot.state.load(std::memory_order_acquire);
        }
        if (state == 2 && slot_name(slot) == name) return i;
    }
    return other;
}

void observe(Histogram& h, std::uint64_t ns) noexcept {
    const double seconds = double(ns) / 1e9;
    int i = 0;
    while (i < kBuckets && seconds > kBucketBounds[i]) ++i;
    h.buckets[i].fetch_add(1, std::memory_order_relaxed);
    h.sum_ns.fetch_add(ns, std::memory_order_relaxed);
}

}  // namespace scepter::metrics
