#include "scepter/openssl_error.h"

#include <openssl/err.h>

namespace scepter {

void clear_openssl_errors() noexcept { ERR_clear_error(); }

std::string drain_openssl_errors() {
    std::string out;
    unsigned long code;
    while ((code = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out;
}

OpenSslError::OpenSslError(const std::string& what)
    : std::runtime_error([&] {
          std::string queue = drain_openssl_errors();
          return queue.empty() ? what : what + " (" + queue + ")";
      }()) {}

}  // namespace scepter
