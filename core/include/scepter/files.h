// Writing files safely: whole, with the right permissions from the start.
#pragma once

#include <sys/types.h>

#include <string>

namespace scepter {

// Writes all of data to fd, retrying short writes and EINTR. Throws
// std::runtime_error naming path (for the message only) on failure.
void write_all(int fd, const std::string& data, const std::string& path);

// Writes data to path, created with `mode` (subject to the umask) by open(2)
// itself, so a private key is never readable by others, not even for a
// moment. An existing file is unlinked first rather than truncated: its old,
// possibly looser mode would survive a truncation. Symlinks are not followed.
// The data is synced before returning. Throws std::runtime_error.
void write_new_file(const std::string& path, const std::string& data, mode_t mode);

// Creates a directory with `mode` (subject to the umask) unless a directory
// is there already. Throws std::runtime_error (also when path exists and is
// not a directory).
void make_directory(const std::string& path, mode_t mode);

}  // namespace scepter
