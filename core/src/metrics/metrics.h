// The metric model: what Scepter counts and how it is exposed to Prometheus.
// One Metrics per configuration generation, pointing at the block the web
// server shares (metrics_block.h); without a block (the CLI, the bench
// driver, unit tests that attach none) every call does nothing.
//
// The names, labels and meanings are listed in docs/METRICS.md.
#pragma once

#include "metrics/metrics_block.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scepter::metrics {

// Gauges read from the store when scraped (off nginx's event loop).
struct StoreGauges {
    std::int64_t pending_requests = 0;
    std::optional<std::int64_t> crl_number;      // none before the first CRL
    std::optional<std::int64_t> crl_this_update; // Unix time
};

class Metrics {
   public:
    // Configuration time: see attach_block. False when mem cannot hold it.
    bool attach(void* mem, std::size_t len) noexcept;
    bool attached() const noexcept { return block_ != nullptr; }

    // One answered request. operation and message_type are the context's
    // (unknown ones count as "other"); seconds from entry to answer.
    void request(std::string_view operation, std::string_view message_type, std::string_view profile, Outcome outcome,
                 std::uint64_t ns) const noexcept;
    // A failed step, grouped by the failure's reason (the trace's grouping).
    void failure(std::string_view step, std::string_view reason) const noexcept;
    void step_time(std::string_view step, std::uint64_t ns) const noexcept;
    void challenge(std::string_view profile, ChallengeEvent event) const noexcept;
    void certificate_issued(std::string_view profile) const noexcept;
    void certificate_revoked(std::string_view profile) const noexcept;
    void validation(ValidationCall call, bool ok, std::uint64_t ns) const noexcept;
    void policy_error(std::string_view profile) const noexcept;
    void store_error() const noexcept;

    // The text exposition format (version 0.0.4). gauges: null when the
    // store could not be read (its gauges are left out then).
    std::string render(const StoreGauges* gauges, std::int64_t now) const;

   private:
    int profile(std::string_view name) const noexcept;
    Block* block_ = nullptr;
};

Operation operation_of(std::string_view name) noexcept;
MessageType message_type_of(std::string_view name) noexcept;

// The exposition text of one block (metrics_render.cc).
std::string render_block(const Block& b, const StoreGauges* gauges, std::int64_t now);

}  // namespace scepter::metrics
