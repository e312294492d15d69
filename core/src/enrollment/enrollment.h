// One PKIOperation, step by step. Each step writes one audit line; the first
// step that fails ends the exchange with a CertRep FAILURE whose failInfo and
// failInfoText say which step and why. steps.h lists the steps and the values
// they hand each other; this class only strings them together.
#pragma once

#include "enrollment/outcome_reports.h"
#include "enrollment/step_recorder.h"
#include "enrollment/steps.h"

namespace scepter {

class Enrollment {
   public:
    Enrollment(const Config& cfg, const CaMaterial& ca, const AuditLog& audit, Store& store, const Profile& profile,
               const ProfileHooks& hooks, StatusRecords* status, AuditContext& ctx);
    Enrollment(const Enrollment&) = delete;  // env_ and reports_ refer to its own members
    Enrollment& operator=(const Enrollment&) = delete;

    Response run(const Bytes& der);

   private:
    Response dispatch(const VerifiedMessage& m);
    Response enroll(const VerifiedMessage& m);
    Response unreadable(const std::invalid_argument& e);
    Response refuse(const ScepFailure& f, const SignedMessage& msg, const Bytes& der, bool record = true);
    Response refuse_store_unavailable(const StoreError& e, const SignedMessage& msg, const Bytes& der);
    Response internal_failure(const std::exception& e);
    void record_failure(const ScepFailure& f, int message_type);

    StepRecorder steps_;      // the audit lines and the Response's logs
    const StepEnv env_;       // what every step may use
    OutcomeReports reports_;  // who else hears how it ended
};

}  // namespace scepter
