#include "integrations/status_records.h"

#include "scepter/files.h"
#include "scepter/text.h"
#include "util/digest_hex.h"
#include "util/json_flat.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace scepter {
namespace {

constexpr std::size_t kMaxPlainName = 128;
constexpr std::size_t kMaxHexEncoded = 100;          // bytes of ID: "=" + 200 hex digits
constexpr std::size_t kMaxRecordBytes = 1024 * 1024;  // a record is a few KiB (the CSR is the big part)
constexpr const char* kSuffix = ".json";

const char* const kStates[] = {"processing", "succeeded", "failed"};

std::string sys_error(const std::string& what, const std::string& path) {
    return what + " '" + path + "': " + std::strerror(errno);
}

void check_state(const std::string& which) {
    if (which != "processing" && which != "succeeded" && which != "failed") {
        throw std::invalid_argument("status records are processing, succeeded or failed, not '" + which + "'");
    }
}

bool plain_char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

std::string serialise(const std::map<std::string, std::string>& record) {
    std::string out = "{";
    for (const auto& [key, value] : record) {
        if (out.size() > 1) out += ",\n ";
        out += json_quote(key) + ": " + json_quote(value);
    }
    return out + "}\n";
}

// Reads a whole file; nullopt when it does not exist.
std::optional<std::string> slurp(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw std::runtime_error(sys_error("cannot open", path));
    }
    std::string data;
    char buf[8192];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            throw std::runtime_error(sys_error("cannot read", path));
        }
        if (n == 0) break;
        data.append(buf, std::size_t(n));
        if (data.size() > kMaxRecordBytes) {
            close(fd);
            throw std::runtime_error("'" + path + "' is too large to be a status record");
        }
    }
    close(fd);
    return data;
}

std::optional<std::map<std::string, std::string>> read_record(const std::string& path) {
    auto data = slurp(path);
    if (!data) return std::nullopt;
    FlatJsonObject object;
    try {
        object = parse_flat_json(*data);
    } catch (const JsonError& e) {
        throw std::runtime_error("'" + path + "' is not a status record: " + e.what());
    }
    std::map<std::string, std::string> out;
    for (auto& [key, value] : object) {
        out[key] = value.type == JsonScalar::Type::Null ? "" : std::move(value.text);
    }
    return out;
}

void remove_if_present(const std::string& path) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) throw std::runtime_error(sys_error("cannot remove", path));
}

}  // namespace

std::string status_record_name(const std::string& transaction_id) {
    if (transaction_id.empty()) throw std::invalid_argument("a status record needs a transaction ID");
    if (transaction_id.size() <= kMaxPlainName &&
        std::all_of(transaction_id.begin(), transaction_id.end(),
                    [](char c) { return plain_char(static_cast<unsigned char>(c)); })) {
        return transaction_id;
    }
    if (transaction_id.size() <= kMaxHexEncoded) {
        return "=" + to_hex(reinterpret_cast<const unsigned char*>(transaction_id.data()), transaction_id.size());
    }
    return "#" + digest_hex(transaction_id, EVP_sha256());
}

StatusRecords::StatusRecords(std::string dir) : dir_(std::move(dir)) {
    if (dir_.empty()) throw std::runtime_error("the status directory is not set");
    while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
    make_directory(dir_, 0750);
    for (const char* state : kStates) make_directory(dir_ + "/" + state, 0750);
}

std::string StatusRecords::path(const std::string& which, const std::string& txid) const {
    return dir_ + "/" + which + "/" + status_record_name(txid) + kSuffix;
}

void StatusRecords::write(const std::string& which, const std::string& txid,
                          const std::map<std::string, std::string>& record) {
    static std::atomic<unsigned long> counter{0};
    const std::string final_path = path(which, txid);
    const std::string tmp = dir_ + "/" + which + "/.tmp-" + std::to_string(getpid()) + "-" +
                            std::to_string(counter.fetch_add(1)) + "-" + status_record_name(txid) + kSuffix;
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) throw std::runtime_error(sys_error("cannot create", tmp));
    try {
        write_all(fd, serialise(record), tmp);
        if (fsync(fd) != 0) throw std::runtime_error(sys_error("cannot sync", tmp));
    } catch (...) {
        close(fd);
        unlink(tmp.c_str());
        throw;
    }
    if (close(fd) != 0) {
        unlink(tmp.c_str());
        throw std::runtime_error(sys_error("cannot write", tmp));
    }
    if (rename(tmp.c_str(), final_path.c_str()) != 0) {
        std::string why = sys_error("cannot rename into place", final_path);
        unlink(tmp.c_str());
        throw std::runtime_error(why);
    }
}

void StatusRecords::begin(const std::string& transaction_id, const std::map<std::string, std::string>& fields) {
    std::map<std::string, std::string> record = fields;
    record["transaction_id"] = transaction_id;
    record["state"] = "processing";
    record["started_at"] = iso8601_utc(std::time(nullptr));
    record.erase("finished_at");
    write("processing", transaction_id, record);
}

void StatusRecords::finish(const std::string& transaction_id, bool succeeded,
                           const std::map<std::string, std::string>& fields) {
    const std::string target = succeeded ? "succeeded" : "failed";
    const std::string other = succeeded ? "failed" : "succeeded";
    std::map<std::string, std::string> record;
    std::string from;
    for (const std::string& which : {std::string("processing"), target, other}) {
        try {
            if (auto existing = read(which, transaction_id)) {
                record = std::move(*existing);
                from = which;
                break;
            }
        } catch (const std::runtime_error&) {
            // An unreadable old copy is replaced, not merged.
        }
    }
    for (const auto& [key, value] : fields) record[key] = value;
    record["transaction_id"] = transaction_id;
    record["state"] = target;
    std::string now = iso8601_utc(std::time(nullptr));
    if (record["started_at"].empty()) record["started_at"] = now;
    if (from == target && !record["finished_at"].empty()) {
        record["updated_at"] = now;  // a finished record amended (a notification sent again)
    } else {
        record["finished_at"] = now;
    }
    write(target, transaction_id, record);
    remove_if_present(path("processing", transaction_id));
    remove_if_present(path(other, transaction_id));
}

std::vector<std::string> StatusRecords::list(const std::string& which) {
    check_state(which);
    const std::string sub = dir_ + "/" + which;
    DIR* d = opendir(sub.c_str());
    if (!d) throw std::runtime_error(sys_error("cannot read the directory", sub));
    std::vector<std::string> names;
    errno = 0;
    while (dirent* entry = readdir(d)) {
        std::string name = entry->d_name;
        std::size_t suffix = std::strlen(kSuffix);
        if (name.empty() || name[0] == '.' || name.size() <= suffix ||
            name.compare(name.size() - suffix, suffix, kSuffix) != 0) {
            continue;
        }
        names.push_back(name.substr(0, name.size() - suffix));
    }
    closedir(d);
    std::vector<std::string> out;
    for (const std::string& name : names) {
        if (name[0] == '=') {
            auto id = from_hex(std::string_view(name).substr(1));
            // Only the name status_record_name gives (lower-case) is ours.
            if (id && !id->empty() && to_hex(*id) == name.substr(1)) out.emplace_back(id->begin(), id->end());
        } else if (name[0] == '#') {
            // Too long to be the name: the record itself says which ID it is.
            try {
                auto record = read_record(sub + "/" + name + kSuffix);
                if (record && record->count("transaction_id") && status_record_name((*record)["transaction_id"]) == name) {
                    out.push_back((*record)["transaction_id"]);
                }
            } catch (const std::exception&) {
                // Not a record of ours: not listed.
            }
        } else if (std::all_of(name.begin(), name.end(), [](char c) { return plain_char(static_cast<unsigned char>(c)); })) {
            out.push_back(name);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<std::map<std::string, std::string>> StatusRecords::read(const std::string& which,
                                                                      const std::string& txid) {
    check_state(which);
    return read_record(path(which, txid));
}

}  // namespace scepter
