// A worker's background tasks: today the Intune revocation sync, one
// poller thread per profile whose intune block sets revocation_poll_seconds
// above 0. Every worker starts them; the leader lease lets one of the whole
// fleet poll (admin/intune_revocation_poller.h).
#include "integrations/intune/intune_session.h"
#include "service/service.h"

#include <unistd.h>

namespace scepter {
namespace {

// Names the process in the User-Agent of its revocation calls, so Intune's
// side (and the tests' stand-in) can tell which worker of which node polled.
std::string poller_user_agent(const IntuneSettings& s) {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return s.caller_info + " (revocation sync; host " + host + "; pid " + std::to_string(getpid()) + ")";
}

}  // namespace

void Service::start_background_tasks(LogSink sink) {
    if (!pollers_.empty()) return;
    for (const auto& [name, profile] : cfg_.profiles) {
        if (!profile.intune || profile.intune->revocation_poll_seconds <= 0) continue;
        const IntuneSettings& s = *profile.intune;
        auto pair = ca_.intune_clients.find(name);
        X509* cert = pair == ca_.intune_clients.end() ? nullptr : pair->second.cert.get();
        EVP_PKEY* key = pair == ca_.intune_clients.end() ? nullptr : pair->second.key.get();
        RevocationSyncEnv env{cfg_, ca_, audit_, name, poller_user_agent(s)};
        pollers_.push_back(std::make_unique<RevocationPoller>(
            std::move(env), std::make_unique<IntuneSession>(s, cert, key), [this]() -> Store& { return store(); },
            sink, std::chrono::seconds(s.revocation_poll_seconds)));
    }
}

void Service::stop_background_tasks() noexcept { pollers_.clear(); }

}  // namespace scepter
