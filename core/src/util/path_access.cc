#include "util/path_access.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace scepter {
namespace {

std::string user_name(uid_t uid) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) return pw.pw_name;
    return "uid " + std::to_string(uid);
}

bool has_acl(const std::string& path) {
    return getxattr(path.c_str(), "system.posix_acl_access", nullptr, 0) > 0;
}

// want: R_OK, W_OK, X_OK or'ed together (the same bits as a mode's rwx).
// Judged from `st`, the caller's one stat of `path`: a file that vanishes
// meanwhile (SQLite removes its -wal when the last connection closes, as old
// workers do during a reload) must not read as "not allowed".
bool allowed(const std::string& path, const struct stat& st, int want, const PathUser& user) {
    if (user.current) {
        if (faccessat(AT_FDCWD, path.c_str(), want, AT_EACCESS) == 0) return true;
        return errno == ENOENT;
    }
    if (user.uid == 0 || has_acl(path)) return true;
    int bits = st.st_mode & 7;
    if (st.st_uid == user.uid) bits = (st.st_mode >> 6) & 7;
    else if (std::find(user.groups.begin(), user.groups.end(), st.st_gid) != user.groups.end())
        bits = (st.st_mode >> 3) & 7;
    return (bits & want) == want;
}

std::string who(const PathUser& user) { return "user '" + user.name + "'"; }

// The first existing directory from the root down to `dir` that the user
// may not enter, or "".
std::string closed_on_the_way(const std::string& dir, const PathUser& user) {
    std::vector<std::string> way;
    if (!dir.empty() && dir[0] == '/') way.push_back("/");
    for (std::size_t i = 1; i <= dir.size(); ++i)
        if (i == dir.size() || dir[i] == '/') way.push_back(dir.substr(0, i));
    for (const auto& d : way) {
        struct stat st {};
        if (stat(d.c_str(), &st) != 0) return "";  // missing: the caller says so
        if (!allowed(d, st, X_OK, user)) return d;
    }
    return "";
}

}  // namespace

std::string parent_dir(const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto slash = p.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : p.substr(0, slash);
}

PathUser current_path_user() {
    PathUser u;
    u.uid = geteuid();
    u.name = user_name(u.uid);
    return u;
}

PathUser worker_path_user(const std::string& name, uid_t uid, gid_t gid) {
    if (uid == geteuid() && gid == getegid()) return current_path_user();
    PathUser u;
    u.name = name.empty() ? user_name(uid) : name;
    u.current = false;
    u.uid = uid;
    int count = 64;
    std::vector<gid_t> groups(std::size_t(count), gid);
    if (getgrouplist(u.name.c_str(), gid, groups.data(), &count) < 0) {
        groups.resize(std::size_t(count));
        if (getgrouplist(u.name.c_str(), gid, groups.data(), &count) < 0) count = 1;
    }
    groups.resize(std::size_t(std::max(count, 1)));
    u.groups = std::move(groups);
    return u;
}

std::string dir_write_problem(const std::string& dir, const PathUser& user, bool create_missing) {
    std::string parent = parent_dir(dir);
    std::string closed = closed_on_the_way(parent, user);
    if (!closed.empty()) return who(user) + " cannot enter '" + closed + "' on the way to '" + dir + "'";
    struct stat st {};
    if (stat(dir.c_str(), &st) != 0) {
        if (errno != ENOENT) return "cannot reach '" + dir + "': " + std::strerror(errno);
        if (!create_missing) return "the directory '" + dir + "' does not exist";
        if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            return "'" + dir + "' does not exist, nor does its parent directory '" + parent + "'";
        if (!allowed(parent, st, W_OK | X_OK, user))
            return "'" + dir + "' does not exist and " + who(user) + " cannot create it in '" + parent + "'";
        return "";
    }
    if (!S_ISDIR(st.st_mode)) return "'" + dir + "' is not a directory";
    if (!allowed(dir, st, W_OK | X_OK, user)) return who(user) + " cannot write to '" + dir + "'";
    return "";
}

std::string file_write_problem(const std::string& path, const PathUser& user) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return "";
    if (!allowed(path, st, R_OK | W_OK, user)) return who(user) + " cannot read and write '" + path + "'";
    return "";
}

std::string file_read_problem(const std::string& path, const PathUser& user) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return "'" + path + "' does not exist";
    if (!allowed(path, st, R_OK, user)) return who(user) + " cannot read '" + path + "'";
    return "";
}

}  // namespace scepter
