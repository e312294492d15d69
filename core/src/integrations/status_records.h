// Enrollment status records, the counterpart of NDES's .CRS files: one small
// JSON file per transaction in DIR/processing/ while the enrollment runs,
// moved to DIR/succeeded/ or DIR/failed/ when it ends. An admin (or
// `scepter status`) sees what is in flight, what ended how, and which
// notifications to an external service failed and must be sent again.
//
// A record is a flat JSON object of strings. Fields written here:
//   transaction_id, state (processing|succeeded|failed), started_at,
//   finished_at, and updated_at when a finished record is amended (ISO 8601
//   UTC, "2026-11-25T06:30:00Z").
// Fields the caller is expected to give (by convention, see the k* names):
//   notification  "sent" | "failed: <reason>" | "none"
//   and what a notification needs to be sent again: certificate_request
//   (base64 DER PKCS#10), certificate_thumbprint, certificate_serial,
//   certificate_not_after (Unix seconds), issuing_ca, hresult, error.
//
// Safe across threads and processes (several nginx workers): every write
// is a new file renamed into place, so a reader sees the old record or the
// new one, never a part. File names come from the transaction ID, which
// the client chooses: IDs made only of [A-Za-z0-9_-] (at most 128 bytes)
// are used as they are, anything else is hex-encoded behind a '=' (which a
// plain name never contains), and an ID too long even for that is named by
// its SHA-256 behind a '#'. No name can contain '/', start with '.' or be
// "..". Temporary files start with '.' and are never listed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace scepter {

class StatusRecords {
   public:
    // Field names the enrollment code and `scepter status retry` agree on.
    static constexpr const char* kNotification = "notification";  // sent | failed: … | none
    static constexpr const char* kCertificateRequest = "certificate_request";
    static constexpr const char* kThumbprint = "certificate_thumbprint";
    static constexpr const char* kSerial = "certificate_serial";
    static constexpr const char* kNotAfter = "certificate_not_after";
    static constexpr const char* kIssuingCa = "issuing_ca";
    static constexpr const char* kHresult = "hresult";
    static constexpr const char* kError = "error";

    // Creates DIR and its three subdirectories (0750, less the umask) if
    // missing. Throws std::runtime_error when it cannot.
    explicit StatusRecords(std::string dir);

    const std::string& dir() const noexcept { return dir_; }

    // Writes DIR/processing/<name>.json (replacing one left by an earlier
    // attempt with the same ID). Throws std::runtime_error.
    void begin(const std::string& transaction_id, const std::map<std::string, std::string>& fields);

    // Merges fields into the transaction's record (the one in processing/,
    // else the one already in the target or the other final directory, else
    // a new one), writes it to succeeded/ or failed/, then removes the
    // other copies. The merged record is complete in its new place before
    // the old one goes: a crash leaves a duplicate, never nothing. Calling
    // it again on a finished record updates it (a resent notification).
    // Throws std::runtime_error.
    void finish(const std::string& transaction_id, bool succeeded, const std::map<std::string, std::string>& fields);

    // The transaction IDs in processing|succeeded|failed, sorted. Throws
    // std::invalid_argument for another `which`, std::runtime_error when
    // the directory cannot be read.
    std::vector<std::string> list(const std::string& which);

    // One record, or nullopt when there is none. Throws std::runtime_error
    // for a file that is not a record.
    std::optional<std::map<std::string, std::string>> read(const std::string& which, const std::string& txid);

   private:
    std::string path(const std::string& which, const std::string& txid) const;
    void write(const std::string& which, const std::string& txid, const std::map<std::string, std::string>& record);

    std::string dir_;
};

// The file name (without ".json") of a transaction ID; exposed for tests.
std::string status_record_name(const std::string& transaction_id);

}  // namespace scepter
