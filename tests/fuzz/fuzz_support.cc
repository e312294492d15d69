#include "fuzz_support.h"

#include "../../cli/demo_pki.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace scepter::fuzz {
namespace {

namespace fs = std::filesystem;

// Temporary directories made by this process, removed when it exits
// normally (libFuzzer exits through exit() after -max_total_time). Never
// destroyed: static destructors may run before the atexit handler.
std::vector<std::string>& temp_dirs() {
    static auto* dirs = new std::vector<std::string>;
    return *dirs;
}

void remove_temp_dirs() {
    std::error_code ignored;
    for (const auto& d : temp_dirs()) fs::remove_all(d, ignored);
}

std::string make_temp_dir() {
    static std::once_flag registered;
    std::call_once(registered, [] { std::atexit(remove_temp_dirs); });
    char tmpl[] = "/tmp/scepter-fuzz-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    temp_dirs().push_back(tmpl);
    return tmpl;
}

}  // namespace

const std::string& demo_pki_dir() {
    static const std::string dir = [] {
        if (const char* given = std::getenv("SCEPTER_FUZZ_PKI"); given != nullptr && *given != '\0') return std::string(given);
        std::string made = make_temp_dir() + "/pki";
        cli::write_demo_pki({made});
        return made;
    }();
    return dir;
}

std::string private_copy_of_demo_pki() {
    std::string copy = make_temp_dir() + "/pki";
    fs::copy(demo_pki_dir(), copy, fs::copy_options::recursive);
    // A store or audit log the source PKI already had is not ours to reuse.
    std::error_code ignored;
    fs::remove_all(copy + "/" + cli::kStateDir, ignored);
    fs::create_directories(copy + "/" + cli::kStateDir);
    fs::remove(copy + "/" + cli::kAuditLogFile, ignored);
    return copy;
}

}  // namespace scepter::fuzz
