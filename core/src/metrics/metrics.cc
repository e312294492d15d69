#include "metrics/metrics.h"

namespace scepter::metrics {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

template <typename E, std::size_t N>
E find_name(const char* const (&names)[N], std::string_view name, E other) noexcept {
    for (std::size_t i = 0; i < N; ++i)
        if (name == names[i]) return E(i);
    return other;
}

}  // namespace

Operation operation_of(std::string_view name) noexcept {
    // NDES's operations are asked of the mscep_admin page.
    if (name == "NDESGenerateChallenge" || name == "NDESGetCACertThumbprint") return op_mscep_admin;
    return find_name(kOperationNames, name, op_other);
}

MessageType message_type_of(std::string_view name) noexcept { return find_name(kMessageTypeNames, name, mt_other); }

bool Metrics::attach(void* mem, std::size_t len) noexcept {
    block_ = attach_block(mem, len);
    return block_ != nullptr;
}

int Metrics::profile(std::string_view name) const noexcept { return label_slot(block_->profiles, kProfiles, name); }

void Metrics::request(std::string_view operation, std::string_view message_type, std::string_view profile_name,
                      Outcome outcome, std::uint64_t ns) const noexcept {
    if (!block_) return;
    Operation op = operation_of(operation);
    block_->requests[op][message_type_of(message_type)][profile(profile_name)][outcome].fetch_add(1, relaxed);
    observe(block_->request_seconds[op], ns);
}

void Metrics::failure(std::string_view step, std::string_view reason) const noexcept {
    if (!block_) return;
    int s = label_slot(block_->steps, kSteps, step);
    block_->failures[s][label_slot(block_->reasons, kReasons, reason)].fetch_add(1, relaxed);
}

void Metrics::step_time(std::string_view step, std::uint64_t ns) const noexcept {
    if (!block_) return;
    observe(block_->step_seconds[label_slot(block_->steps, kSteps, step)], ns);
}

void Metrics::challenge(std::string_view profile_name, ChallengeEvent event) const noexcept {
    if (block_) block_->challenges[profile(profile_name)][event].fetch_add(1, relaxed);
}

void Metrics::certificate_issued(std::string_view profile_name) const noexcept {
    if (block_) block_->certificates_issued[profile(profile_name)].fetch_add(1, relaxed);
}

void Metrics::certificate_revoked(std::string_view profile_name) const noexcept {
    if (block_) block_->certificates_revoked[profile(profile_name)].fetch_add(1, relaxed);
}

void Metrics::validation(ValidationCall call, bool ok, std::uint64_t ns) const noexcept {
    if (!block_) return;
    block_->validation_calls[call][ok ? 1 : 0].fetch_add(1, relaxed);
    observe(block_->validation_seconds[call], ns);
}

void Metrics::policy_error(std::string_view profile_name) const noexcept {
    if (block_) block_->policy_errors[profile(profile_name)].fetch_add(1, relaxed);
}

void Metrics::store_error() const noexcept {
    if (block_) block_->store_errors.fetch_add(1, relaxed);
}

std::string Metrics::render(const StoreGauges* gauges, std::int64_t now) const {
    if (!block_) return "";
    return render_block(*block_, gauges, now);
}

}  // namespace scepter::metrics
