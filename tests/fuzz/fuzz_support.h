// What the fuzz targets share: the demo PKI they run against, and bytes.
//
// The keys are never committed: scripts/fuzz makes a demo PKI once with
// `scepter init` (build-fuzz/fuzz-pki) and passes it in SCEPTER_FUZZ_PKI, so
// its seeds (pkiMessages enveloped to that RA) and the targets share the
// same keys, and a crash file reproduces with the same variable. Without
// the variable a target makes its own demo PKI in a temporary directory.
#pragma once

#include "scepter/pki_message.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace scepter::fuzz {

// The demo PKI directory (scepter.yaml, ca.pem, ra-enc.key, ...), made once.
const std::string& demo_pki_dir();

// A private copy of the demo PKI in a new temporary directory, for targets
// that write (the store, the audit log, a config file); removed at exit.
std::string private_copy_of_demo_pki();

inline Bytes bytes_of(const uint8_t* data, size_t size) { return Bytes(data, data + size); }
inline std::string text_of(const uint8_t* data, size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace scepter::fuzz
