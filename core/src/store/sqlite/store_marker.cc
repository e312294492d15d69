// The store's marker: a small file written beside the store once it exists.
// A store file that disappears while its marker stays (deleted by mistake,
// a restore that missed it, a volume not mounted) is refused, where SQLite
// would silently create an empty store and forget every certificate, every
// revocation and the CRL number. Stores made before the marker existed get
// theirs the next time they are opened.
#include "store/sqlite/store_sqlite.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace scepter {
namespace {

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string utc_now() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

std::string store_marker_path(const std::string& store_path) { return store_path + "-created"; }

void check_store_not_lost(const std::string& path) {
    if (exists(path)) return;
    std::string evidence;
    if (exists(store_marker_path(path))) evidence = store_marker_path(path);
    else if (exists(path + "-wal")) evidence = path + "-wal";
    else if (exists(path + "-shm")) evidence = path + "-shm";
    if (evidence.empty()) return;  // no store was ever here: a new deployment
    throw StoreError("the store " + path + " is missing, but " + evidence +
                     " shows one was created there; refusing to start an empty store that would forget "
                     "every issued certificate, revocation and the CRL number. Restore the store from a "
                     "backup, or remove " + store_marker_path(path) + " (and any -wal/-shm files) "
                     "to start a new, empty one deliberately");
}

void mark_store_created(const std::string& store_path) {
    const std::string marker = store_marker_path(store_path);
    // O_EXCL: several workers setting up a new store write it once.
    int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST) return;
        throw StoreError("cannot write the store's marker " + marker + ": " + std::strerror(errno));
    }
    std::string text = "Scepter store " + store_path + " in use since " + utc_now() +
                       ".\nWhile this file exists, a missing store is an error, not a new empty store.\n";
    bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
        ::unlink(marker.c_str());
        throw StoreError("cannot write the store's marker " + marker + ": " + std::strerror(errno));
    }
}

}  // namespace scepter
