// A leader lease on one machine: an exclusive flock on a file beside the
// database ("scepter.db.lease.NAME"). Every worker of the node opens the
// file itself, so their locks conflict; the kernel drops the lock when the
// holder closes it or dies, however it dies. The file stays (it holds
// nothing; removing it would let two processes lock two different files).
#include "store/sqlite/store_sqlite.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace scepter {
namespace {

class FlockLease final : public LeaderLease {
   public:
    explicit FlockLease(int fd) noexcept : fd_(fd) {}
    ~FlockLease() override { ::close(fd_); }
    FlockLease(const FlockLease&) = delete;
    FlockLease& operator=(const FlockLease&) = delete;
    bool held() noexcept override { return true; }  // a flock is only lost with its descriptor

   private:
    int fd_;
};

}  // namespace

std::unique_ptr<LeaderLease> SqliteStore::try_leader_lease(const std::string& name) {
    const std::string path = path_ + ".lease." + checked_lease_name(name);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw StoreError("cannot open the lease file " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK) return nullptr;
        throw StoreError("cannot lock the lease file " + path + ": " + std::strerror(err));
    }
    return std::make_unique<FlockLease>(fd);
}

}  // namespace scepter
