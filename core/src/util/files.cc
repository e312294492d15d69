#include "scepter/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace scepter {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
    throw std::runtime_error(what + " '" + path + "': " + std::strerror(err));
}

// Closes the descriptor on every path out of write_new_file.
class Fd {
   public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    // close() reports late write errors (NFS, quota): check it explicitly.
    int release_and_close() noexcept {
        int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

   private:
    int fd_;
};

}  // namespace

void write_all(int fd, const std::string& data, const std::string& path) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot write", path, errno);
        done += std::size_t(n);
    }
}

void write_new_file(const std::string& path, const std::string& data, mode_t mode) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("cannot replace", path, errno);
    Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (fd.get() < 0) fail("cannot create", path, errno);
    write_all(fd.get(), data, path);
    if (::fsync(fd.get()) != 0) fail("cannot sync", path, errno);
    if (fd.release_and_close() != 0) fail("cannot close", path, errno);
}

void make_directory(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) == 0) return;
    int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return;
    if (err == EEXIST) throw std::runtime_error("'" + path + "' exists and is not a directory");
    fail("cannot create the directory", path, err);
}

}  // namespace scepter
