// Errors from OpenSSL calls, carrying the drained ERR queue.
#pragma once

#include <stdexcept>
#include <string>

namespace scepter {

class OpenSslError : public std::runtime_error {
   public:
    // what: our words for the step that failed; the queue is appended.
    explicit OpenSslError(const std::string& what);
};

// Throws OpenSslError(what) unless ok. Call sites clear the queue first.
inline void check(bool ok, const char* what) {
    if (!ok) throw OpenSslError(what);
}

// Clears the thread's error queue before a sequence of OpenSSL calls, so a
// failure report never mixes in an older, unrelated error.
void clear_openssl_errors() noexcept;

// The drained queue as "lib:reason; ..." (empty when nothing was queued).
std::string drain_openssl_errors();

}  // namespace scepter
