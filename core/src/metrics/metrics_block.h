// The metrics' counter block: one fixed layout in memory that the web server
// shares between all its worker processes and keeps across reloads (nginx: a
// shared zone; Apache: shared memory kept by the parent across graceful
// restarts). Every field is a lock-free atomic, so workers count without a
// lock and a scrape reads without one; nothing in it is a pointer, so each
// process may map it at its own address.
//
// Labels whose values come from the configuration or the code (profile, step,
// failure reason) live in bounded name tables in the block itself, claimed
// slot by slot on first use; once a table is full, further names count under
// its last slot, "other". The names stay in the block, so a series keeps its
// meaning across reloads and upgrades of the same layout.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace scepter::metrics {

using Counter = std::atomic<std::uint64_t>;
static_assert(Counter::is_always_lock_free, "shared counters must be lock-free (and so address-free)");

// Static label sets: their order is part of the layout.
enum Operation : int { op_getcacaps, op_getcacert, op_getnextcacert, op_pkioperation, op_crl, op_admin, op_mscep_admin,
                       op_metrics, op_other, kOperations };
enum MessageType : int { mt_none, mt_pkcsreq, mt_renewalreq, mt_certpoll, mt_getcert, mt_getcrl, mt_other, kMessageTypes };
enum Outcome : int { out_success, out_failure, out_pending, out_rejected, out_error, kOutcomes };
enum ChallengeEvent : int { ch_issued, ch_consumed, ch_expired, ch_refused_quota, kChallengeEvents };
enum ValidationCall : int { call_validate, call_notify, kValidationCalls };

extern const char* const kOperationNames[kOperations];
extern const char* const kMessageTypeNames[kMessageTypes];
extern const char* const kOutcomeNames[kOutcomes];
extern const char* const kChallengeEventNames[kChallengeEvents];
extern const char* const kValidationCallNames[kValidationCalls];

// Bounded tables; the last slot of each is "other".
constexpr int kProfiles = 32;
constexpr int kSteps = 48;
constexpr int kReasons = 96;

// Upper bounds of the latency buckets, in seconds (+Inf is implicit).
constexpr int kBuckets = 13;
extern const double kBucketBounds[kBuckets];

constexpr std::size_t kNameBytes = 56;
struct LabelSlot {
    std::atomic<std::uint32_t> state;  // 0 free, 1 being written, 2 ready
    std::uint32_t length;
    char name[kNameBytes];
};

struct Histogram {
    Counter buckets[kBuckets + 1];  // per bucket, not cumulative; the last is +Inf
    Counter sum_ns;
};

constexpr std::uint64_t kMagic = 0x5343455054524d31ULL;  // "SCEPTRM1"
constexpr std::uint32_t kLayoutVersion = 1;

struct Block {
    std::uint64_t magic;
    std::uint32_t version;
    std::uint32_t reserved;
    std::uint64_t size;  // sizeof(Block) when formatted
    Counter started_at;  // Unix time the block was formatted: when the counts began

    LabelSlot profiles[kProfiles];
    LabelSlot steps[kSteps];
    LabelSlot reasons[kReasons];

    Counter requests[kOperations][kMessageTypes][kProfiles][kOutcomes];
    Histogram request_seconds[kOperations];
    Histogram step_seconds[kSteps];
    Counter failures[kSteps][kReasons];
    Counter challenges[kProfiles][kChallengeEvents];
    Counter certificates_issued[kProfiles];
    Counter certificates_revoked[kProfiles];
    Counter validation_calls[kValidationCalls][2];  // [call][ok]
    Histogram validation_seconds[kValidationCalls];
    Counter policy_errors[kProfiles];
    Counter store_errors;
};

// Makes mem hold a Block: keeps one that is already there (same magic,
// version and size: a reload, a graceful restart), formats it otherwise.
// Configuration time, before the workers exist. Null when len is too small
// or mem is misaligned.
Block* attach_block(void* mem, std::size_t len) noexcept;

// The slot of a name in a table of n slots, claiming a free one on first
// use; n - 1 ("other") when the table is full or the name does not fit.
int label_slot(LabelSlot* table, int n, std::string_view name) noexcept;

// A ready slot's name; empty for a free one.
std::string_view slot_name(const LabelSlot& slot) noexcept;

void observe(Histogram& h, std::uint64_t ns) noexcept;

}  // namespace scepter::metrics
