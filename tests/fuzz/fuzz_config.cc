// The YAML configuration loader: the input is scepter.yaml, written into a
// private copy of the demo PKI so that its relative paths (ca.pem, ...)
// resolve as they would for an admin's file.
#include "fuzz_support.h"

#include "scepter/config.h"

#include <fstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace scepter;
    static const std::string path = fuzz::private_copy_of_demo_pki() + "/fuzz.yaml";
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    }
    try {
        Config cfg = load_config(path);
        for (const auto& [name, profile] : cfg.profiles) (void)cfg.line_of("profiles." + name);
    } catch (const ConfigError&) {
    }
    return 0;
}
