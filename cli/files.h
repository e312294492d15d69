// Writing files with the right permissions from the start.
#pragma once

#include <string>
#include <sys/types.h>

namespace scepter::cli {

// Writes data to path, created with `mode` (subject to the umask) by open(2)
// itself, so a private key is never readable by others, not even for a
// moment. An existing file is unlinked first rather than truncated: its old,
// possibly looser mode would survive a truncation. Symlinks are not followed.
void write_new_file(const std::string& path, const std::string& data, mode_t mode);

// Creates a directory with `mode` (subject to the umask) unless it exists.
void make_directory(const std::string& path, mode_t mode);

}  // namespace scepter::cli
