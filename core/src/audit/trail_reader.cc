// The audit trail's files and their lines: the current file and what
// logrotate left of the older ones (audit.log.1, audit.log.2.gz, or
// audit.log-20261125.gz with dateext), read as one stream, oldest first.
// zlib reads both the gzip files and the plain ones (gzread passes a file
// that is not gzip through as it is), so one loop serves every file.
#include "scepter/audit_trail.h"
#include "scepter/text.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace scepter {
namespace {

constexpr std::size_t kChunk = 1 << 20;          // read this much at a time
constexpr std::size_t kMaxLine = 1 << 20;        // longer lines are skipped
constexpr unsigned kZlibBuffer = 256 * 1024;     // zlib's own input buffer

bool is_file(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool ends_with(const std::string& s, const char* tail) {
    std::size_t n = std::strlen(tail);
    return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// A rotated copy's place in the trail, from its suffix (after "audit.log"):
// ".3" or ".3.gz" (logrotate's numbers: higher is older) or "-20261125"
// (dateext: later is newer). Dated copies are taken as older than numbered
// ones; a trail uses one scheme or the other.
struct Rotated {
    std::string path;
    bool gzip = false;
    bool dated = false;
    std::int64_t number = 0;
    std::string date;
};

std::optional<Rotated> rotated_copy(const std::string& dir, const std::string& base, const std::string& name) {
    if (name.size() <= base.size() || name.compare(0, base.size(), base) != 0) return std::nullopt;
    std::string suffix = name.substr(base.size());
    Rotated r;
    r.path = dir + name;
    r.gzip = ends_with(suffix, ".gz");
    if (r.gzip) suffix.resize(suffix.size() - 3);
    if (suffix.size() < 2) return std::nullopt;
    std::string rest = suffix.substr(1);
    if (suffix[0] == '.') {
        auto n = parse_int(rest);
        if (!n) return std::nullopt;
        r.number = *n;
    } else if (suffix[0] == '-') {
        if (rest.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
        r.dated = true;
        r.date = rest;
    } else {
        return std::nullopt;
    }
    return r;
}

bool older_first(const Rotated& a, const Rotated& b) {
    if (a.dated != b.dated) return a.dated;
    if (a.dated) return a.date < b.date;
    return a.number > b.number;
}

struct GzCloser {
    void operator()(gzFile_s* f) const { gzclose(f); }
};

}  // namespace

std::vector<TrailFile> trail_files(const std::string& current) noexcept {
    std::vector<TrailFile> out;
    try {
        auto slash = current.rfind('/');
        std::string dir = slash == std::string::npos ? "./" : current.substr(0, slash + 1);
        std::string base = slash == std::string::npos ? current : current.substr(slash + 1);
        std::vector<Rotated> rotated;
        if (DIR* d = opendir(dir.c_str())) {
            while (dirent* entry = readdir(d)) {
                auto r = rotated_copy(dir, base, entry->d_name);
                if (r && is_file(r->path)) rotated.push_back(std::move(*r));
            }
            closedir(d);
        }
        std::sort(rotated.begin(), rotated.end(), older_first);
        for (auto& r : rotated) out.push_back({std::move(r.path), r.gzip});
        if (is_file(current)) out.push_back({current, false});
    } catch (const std::exception&) {
        // out of memory listing a directory: what was listed is still true
    }
    return out;
}

std::string read_trail_file(const TrailFile& file, std::size_t index,
                            const std::function<bool(const TrailLine&)>& visit, std::uint64_t from) noexcept {
    try {
        int fd = open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return file.path + ": " + std::strerror(errno);
        // Seek only where the bytes are the lines themselves: not gzip,
        // whatever the file's name says.
        unsigned char magic[2] = {0, 0};
        const bool gzip = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        std::uint64_t base = 0;    // file offset of buf[0]
        if (from > 0 && !gzip) {
            // Start one byte early: a line that begins exactly at `from` is
            // then seen whole after the newline before it.
            base = from - 1;
            if (lseek(fd, off_t(base), SEEK_SET) < 0) {
                close(fd);
                return file.path + ": " + std::strerror(errno);
            }
        }
        std::unique_ptr<gzFile_s, GzCloser> in(gzdopen(fd, "rb"));
        if (!in) {
            close(fd);
            return file.path + ": cannot be read";
        }
        gzbuffer(in.get(), kZlibBuffer);
        std::string buf(kChunk, '\0');
        std::size_t have = 0;      // bytes in buf
        // The line at buf[0] is not shown: it is longer than kMaxLine, or it
        // begins before `from` (in a gzip file they are read through).
        bool skipping = from > 0;
        for (;;) {
            if (have == buf.size()) {
                // A line fills the buffer: not an audit line; skip to its end.
                skipping = true;
                base += have;
                have = 0;
            }
            int n = gzread(in.get(), &buf[have], unsigned(buf.size() - have));
            if (n < 0) {
                int code = 0;
                const char* why = gzerror(in.get(), &code);
                return file.path + ": " + (code == Z_ERRNO ? std::strerror(errno) : why);
            }
            if (n == 0) break;
            std::size_t end = have + std::size_t(n);
            std::size_t start = 0;
            // Only the new bytes can hold the newline that ends the carried-over line.
            std::size_t search = have;
            while (const void* nl = std::memchr(&buf[search], '\n', end - search)) {
                std::size_t pos = static_cast<const char*>(nl) - buf.data();
                if (!skipping) {
                    std::string_view line(&buf[start], pos - start);
                    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
                    if (!visit(TrailLine{line, index, base + start})) return "";
                }
                skipping = base + pos + 1 < from;  // where the next line begins
                start = pos + 1;
                search = start;
            }
            // Keep the unfinished line at the front of the buffer.
            std::memmove(&buf[0], &buf[start], end - start);
            have = end - start;
            base += start;
        }
        int code = 0;
        const char* why = gzerror(in.get(), &code);
        if (code != Z_OK) return file.path + ": " + why;  // a truncated gzip file: what came before was read
        if (have > 0 && !skipping && have <= kMaxLine)
            visit(TrailLine{std::string_view(buf.data(), have), index, base});  // a last line without newline
        return "";
    } catch (const std::exception& e) {
        return file.path + ": " + e.what();
    }
}

}  // namespace scepter
