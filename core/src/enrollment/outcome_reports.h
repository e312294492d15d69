// Who hears how a transaction ended, besides the device: the Lua policy's
// notify, the external validation service (before the device gets its
// answer) and the status record (NDES's .CRS files). Its state is what was
// already reported: the request it is about, whether a status record is
// open, what the validation service was told.
#pragma once

#include "enrollment/steps.h"
#include "integrations/status_records.h"

#include <string>

namespace scepter {

class OutcomeReports {
   public:
    OutcomeReports(const StepEnv& env, StatusRecords* status) : env_(env), status_(status) {}

    // The request every later report is about (the validation service's
    // notifications, the status record's certificate_request).
    void concern(const Bytes& csr_der) { csr_der_ = csr_der; }
    // Opens the transaction's status record.
    void open_status();

    // outcome_notified: the validation service hears of the certificate
    // before the device does; throws (and withdraws it) when it cannot.
    void notify_success(const Issued& issued, const CsrInfo& csr);
    // Closes the status record as succeeded.
    void succeeded(const Issued& issued);
    // The policy's notify, the failure notification, the status record;
    // `step` is the step that failed.
    void failed(const ScepFailure& f, const char* step);

   private:
    void notify_failure(const ScepFailure& f, const char* step);
    void finish_status(bool succeeded, const std::map<std::string, std::string>& fields);

    const StepEnv& env_;
    StatusRecords* status_;
    Bytes csr_der_;
    bool status_open_ = false;
    std::string notification_ = "none";  // what the validation service was told: sent | failed: why | none
};

}  // namespace scepter
