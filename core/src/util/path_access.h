// Whether a user can reach and write the places a worker writes (the store's
// directory, status_dir). The current process is asked directly (faccessat
// with its effective ids: ACLs, read-only mounts and all). Another user -
// the one a web server's workers will run as, judged by a master that still
// runs as root - is judged from owner, group and mode bits, which is what
// can be known without becoming that user; a path that carries an ACL then
// gets the benefit of the doubt, and the worker checks again as itself when
// it starts (and fails closed).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace scepter {

struct PathUser {
    std::string name;           // for messages
    bool current = true;        // this process, with its effective ids
    uid_t uid = 0;
    std::vector<gid_t> groups;  // primary and supplementary
};

PathUser current_path_user();
// The user a server's workers switch to (its primary group gid). The
// current process when those are its own ids.
PathUser worker_path_user(const std::string& name, uid_t uid, gid_t gid);

// Why `user` cannot create files in `dir`, or "" when it can. With
// create_missing, a missing `dir` is fine when the user can make it in its
// (existing) parent.
std::string dir_write_problem(const std::string& dir, const PathUser& user, bool create_missing);

// Why `user` cannot read and write the existing file `path`, or "" when it
// can or there is no such file.
std::string file_write_problem(const std::string& path, const PathUser& user);

// Why `user` cannot read the file `path` (missing or not readable), or "".
std::string file_read_problem(const std::string& path, const PathUser& user);

// The directory a path is in ("." for a bare name).
std::string parent_dir(const std::string& path);

}  // namespace scepter
