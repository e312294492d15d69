// StatusDirectory: the enrollment status records (NDES's .CRS files) under a
// profile's status directory, for reading and for sending again the
// notifications an external validation service did not receive.
#include "scepter/admin.h"

#include "codec/query_string.h"
#include "integrations/external_validation.h"
#include "integrations/status_records.h"
#include "scepter/text.h"

#include <sys/stat.h>

namespace scepter {
namespace {

const char* const kStates[] = {"processing", "succeeded", "failed"};

std::string field(const std::map<std::string, std::string>& record, const std::string& key) {
    auto it = record.find(key);
    return it == record.end() ? "" : it->second;
}

// Sends one record's notification again; throws std::runtime_error saying
// what failed or what the record lacks.
void resend(ExternalValidator& validator, bool succeeded, const std::string& id,
            const std::map<std::string, std::string>& r) {
    auto need = [&](const char* key) {
        std::string v = field(r, key);
        if (v.empty()) throw std::runtime_error(std::string("the record has no ") + key);
        return v;
    };
    auto csr = base64_decode(need(StatusRecords::kCertificateRequest));
    if (!csr) throw std::runtime_error("the record's certificate_request is not base64");
    if (succeeded) {
        auto not_after = parse_int(need(StatusRecords::kNotAfter), 10);
        if (!not_after) throw std::runtime_error("the record's certificate_not_after is not a number");
        validator.notify_success(id, *csr, need(StatusRecords::kThumbprint), need(StatusRecords::kSerial), *not_after,
                                 need(StatusRecords::kIssuingCa));
    } else {
        std::string text = need(StatusRecords::kHresult);
        bool hex = text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0;
        auto hresult = parse_int(hex ? text.substr(2) : text, hex ? 16 : 10);
        if (!hresult || *hresult < 0 || *hresult > 0xFFFFFFFFLL) {
            throw std::runtime_error("the record's hresult is not a 32-bit number");
        }
        validator.notify_failure(id, *csr, std::uint32_t(*hresult), field(r, StatusRecords::kError));
    }
}

ExternalValidationConfig validator_config(const NotificationTargets& t) {
    ExternalValidationConfig cfg;
    cfg.success_url = t.success_url;
    cfg.failure_url = t.failure_url;
    cfg.headers = t.headers;
    cfg.caller_info = t.caller_info;
    cfg.ca_file = t.ca_file;
    cfg.timeout_ms = t.timeout_ms;
    return cfg;
}

}  // namespace

struct StatusDirectory::Impl {
    explicit Impl(const std::string& dir) : records(dir) {}
    StatusRecords records;

    StatusRecord read(const char* which, const std::string& id, bool& found) {
        StatusRecord out{id, which, {}, ""};
        found = true;
        try {
            auto r = records.read(which, id);
            if (r) out.fields = std::move(*r);
            else found = false;
        } catch (const std::runtime_error& e) {
            out.unreadable = e.what();
        }
        return out;
    }
};

// Reading must not create the directories: created by root here, they would
// be unwritable for the web server's workers.
StatusDirectory::StatusDirectory(const std::string& dir) {
    for (const char* sub : kStates) {
        struct stat st {};
        std::string path = dir + "/" + sub;
        if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            throw std::runtime_error("'" + dir + "' holds no status records (no " + sub + "/ directory)");
    }
    impl_ = std::make_unique<Impl>(dir);
}

StatusDirectory::~StatusDirectory() = default;

std::vector<StatusRecord> StatusDirectory::list(const std::string& state) {
    if (state != "all" && state != "processing" && state != "succeeded" && state != "failed")
        throw std::invalid_argument("the state is processing, succeeded, failed or all, not '" + state + "'");
    std::vector<StatusRecord> out;
    for (const char* which : kStates) {
        if (state != "all" && state != which) continue;
        for (const std::string& id : impl_->records.list(which)) {
            bool found = false;
            out.push_back(impl_->read(which, id, found));
        }
    }
    return out;
}

std::vector<StatusRecord> StatusDirectory::find(const std::string& transaction_id) {
    std::vector<StatusRecord> out;
    for (const char* which : kStates) {
        bool found = false;
        StatusRecord r = impl_->read(which, transaction_id, found);
        if (found) out.push_back(std::move(r));
    }
    return out;
}

std::size_t StatusDirectory::retry_notifications(const NotificationTargets& targets,
                                                 const std::function<void(const NotificationRetry&)>& report) {
    ExternalValidator validator(validator_config(targets));  // std::invalid_argument for a bad URL
    std::size_t failures = 0;
    for (bool succeeded : {true, false}) {
        const char* which = succeeded ? "succeeded" : "failed";
        const std::string& url = succeeded ? targets.success_url : targets.failure_url;
        for (const std::string& id : impl_->records.list(which)) {
            NotificationRetry retry{id, succeeded, NotificationRetry::Result::sent, ""};
            bool found = false;
            StatusRecord r = impl_->read(which, id, found);
            if (!r.unreadable.empty()) {
                retry.result = NotificationRetry::Result::unreadable;
                retry.why = r.unreadable;
                ++failures;
                report(retry);
                continue;
            }
            if (!found || field(r.fields, StatusRecords::kNotification).rfind("failed", 0) != 0) continue;
            if (url.empty()) {
                retry.result = NotificationRetry::Result::no_url;
                report(retry);
                continue;
            }
            std::string outcome = "sent";
            try {
                resend(validator, succeeded, id, r.fields);
            } catch (const std::runtime_error& e) {
                retry.result = NotificationRetry::Result::failed;
                retry.why = e.what();
                outcome = "failed: " + retry.why;
                ++failures;
            }
            impl_->records.finish(id, succeeded, {{StatusRecords::kNotification, outcome}});
            report(retry);
        }
    }
    return failures;
}

}  // namespace scepter
