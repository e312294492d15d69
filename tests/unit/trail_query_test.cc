// The trail's questions: one enrollment with the requests before it,
// enrollments by subject, serial and address, failures grouped since a time.
#include "audit_trail_fixture.h"
#include "scepter/audit_trail.h"

#include <ctime>
#include <set>

namespace scepter {
namespace {

class TrailQueryTest : public TrailDir {
   protected:
    // "2026-03-01T10:MM:SS.000Z"
    static std::string at(int minute, int second, int millis = 0) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "2026-03-01T10:%02d:%02d.%03dZ", minute, second, millis);
        return buf;
    }

    static std::string enrollment(const std::string& tx, int minute, const std::string& client,
                                  const std::string& subject, bool ok) {
        std::string out = line(at(minute, 0, 0), tx, "message_parsed", "ok", "PKIOperation", client);
        out += line(at(minute, 0, 5), tx, "signature_verified", "ok", "PKIOperation", client);
        out += line(at(minute, 0, 9), tx, "csr_checked", "ok", "PKIOperation", client, "", {{"subject", subject}});
        if (!ok) {
            out += line(at(minute, 0, 20), tx, "challenge_password", "failed", "PKIOperation", client,
                        "ChallengePasswordMismatch: the challenge password is not valid", {{"fail_info", "badRequest"}});
            out += line(at(minute, 0, 21), tx, "response_sent", "ok", "PKIOperation", client, "",
                        {{"pki_status", "FAILURE"}, {"fail_info", "badRequest"}});
            return out;
        }
        out += line(at(minute, 0, 30), tx, "template_chosen", "ok", "PKIOperation", client, "", {{"template", "device"}});
        out += line(at(minute, 0, 80), tx, "cert_issued", "ok", "PKIOperation", client, "",
                    {{"serial", "0A1B2C"}, {"subject", subject}, {"template", "device"}});
        out += line(at(minute, 0, 90), tx, "response_sent", "ok", "PKIOperation", client, "",
                    {{"pki_status", "SUCCESS"}, {"serial", "0A1B2C"}});
        return out;
    }

    static std::string get(int minute, int second, const std::string& op, const std::string& client) {
        return line(at(minute, second), "", op == "GetCACaps" ? "get_ca_caps" : "get_ca_cert", "ok", op, client);
    }
};

TEST_F(TrailQueryTest, OneEnrollmentWithTheRequestsBeforeIt) {
    write_gz("audit.log.1.gz", get(1, 0, "GetCACaps", "192.0.2.7") +            // too early: 9 minutes before
                                   get(9, 0, "GetCACaps", "192.0.2.7") +        // rotated, but in the window
                                   get(9, 1, "GetCACaps", "198.51.100.1"));     // another client
    write("audit.log", get(10, 0, "GetCACert", "192.0.2.7") +
                           enrollment("tx-ok", 10, "192.0.2.7", "CN=dev1", true) +
                           get(11, 0, "GetCACaps", "192.0.2.7"));  // after: not this enrollment's
    EnrollmentTrace t = trace_enrollment(current_, "tx-ok");
    EXPECT_TRUE(t.problems.errors.empty());
    ASSERT_EQ(t.steps.size(), 6u);
    ASSERT_EQ(t.preceding.size(), 2u);
    EXPECT_EQ(t.preceding[0].operation, "GetCACaps");
    EXPECT_EQ(t.preceding[0].time, at(9, 0));
    EXPECT_EQ(t.preceding[1].operation, "GetCACert");
    EnrollmentSummary s = summarize(t);
    EXPECT_EQ(s.outcome, "issued");
    EXPECT_EQ(s.subject, "CN=dev1");
    EXPECT_EQ(s.template_name, "device");
    EXPECT_EQ(s.serial, "0A1B2C");
    EXPECT_EQ(s.client_ip, "192.0.2.7");
    EXPECT_EQ(s.message_type, "PKCSReq");
}

TEST_F(TrailQueryTest, AnEarlierEnrollmentOfTheSameClientEndsTheWindow) {
    write("audit.log", get(10, 0, "GetCACaps", "192.0.2.7") + enrollment("tx-first", 10, "192.0.2.7", "CN=a", false) +
                           get(11, 0, "GetCACert", "192.0.2.7") +
                           enrollment("tx-second", 11, "192.0.2.7", "CN=a", true));
    EnrollmentTrace t = trace_enrollment(current_, "tx-second");
    ASSERT_EQ(t.preceding.size(), 1u);
    EXPECT_EQ(t.preceding[0].operation, "GetCACert");
    EnrollmentTrace first = trace_enrollment(current_, "tx-first");
    EnrollmentSummary s = summarize(first);
    EXPECT_EQ(s.outcome, "failed");
    EXPECT_EQ(s.failed_step, "challenge_password");
    EXPECT_EQ(s.detail, "ChallengePasswordMismatch: the challenge password is not valid");
}

// In a large file the requests before an enrollment are looked for from a
// checkpoint just before its window, not from the file's start.
TEST_F(TrailQueryTest, RequestsBeforeAnEnrollmentDeepInALargeFile) {
    std::string filler;
    for (int i = 0; filler.size() < (9u << 20); ++i)
        filler += line("2026-03-01T09:00:00.000Z", "", "get_ca_caps", "ok", "GetCACaps", "198.51.100.9");
    const std::string early_get = line("2026-03-01T09:00:00.000Z", "", "get_ca_caps", "ok", "GetCACaps", "192.0.2.7");
    write("audit.log", early_get + filler + get(9, 0, "GetCACaps", "192.0.2.7") +
                           enrollment("tx-deep", 10, "192.0.2.7", "CN=deep", true));
    EnrollmentTrace t = trace_enrollment(current_, "tx-deep");
    ASSERT_EQ(t.steps.size(), 6u);
    ASSERT_EQ(t.preceding.size(), 1u);  // the one at 10:09, not the one at 09:00
    EXPECT_EQ(t.preceding[0].time, at(9, 0));
}

TEST_F(TrailQueryTest, UnknownTransaction) {
    write("audit.log", enrollment("tx-1", 10, "192.0.2.7", "CN=a", true));
    EXPECT_TRUE(trace_enrollment(current_, "tx-").steps.empty());  // a prefix is not the ID
    EXPECT_TRUE(trace_enrollment(current_, "").steps.empty());
    EnrollmentTrace none = trace_enrollment((dir_ / "nothing.log").string(), "tx-1");
    EXPECT_FALSE(none.problems.errors.empty());
}

TEST_F(TrailQueryTest, FindBySubjectSerialAndClient) {
    write_gz("audit.log.1.gz", enrollment("tx-a", 5, "192.0.2.7", "CN=laptop-7,O=Example", false));
    write("audit.log", enrollment("tx-b", 10, "192.0.2.8", "CN=laptop-7,O=Example", true) +
                           enrollment("tx-c", 11, "192.0.2.7", "CN=phone-1", true) +
                           "garbage line with CN=laptop-7\n");
    EnrollmentList by_subject = find_enrollments(current_, {"laptop-7", "", "", 0}, 50);
    ASSERT_EQ(by_subject.enrollments.size(), 2u);
    EXPECT_EQ(by_subject.enrollments[0].transaction_id, "tx-a");
    EXPECT_EQ(by_subject.enrollments[0].outcome, "failed");
    EXPECT_EQ(by_subject.enrollments[1].transaction_id, "tx-b");
    EXPECT_EQ(by_subject.enrollments[1].outcome, "issued");
    EXPECT_EQ(by_subject.problems.unreadable_lines, 1u);

    EnrollmentList by_serial = find_enrollments(current_, {"", "a1b2c", "", 0}, 50);  // any case, no leading zero
    ASSERT_EQ(by_serial.enrollments.size(), 2u);  // both certificates in this made-up trail share it

    EnrollmentList by_client = find_enrollments(current_, {"", "", "192.0.2.7", 0}, 50);
    ASSERT_EQ(by_client.enrollments.size(), 2u);
    EXPECT_EQ(by_client.enrollments[1].transaction_id, "tx-c");

    EnrollmentList newest = find_enrollments(current_, {"", "", "192.0.2.7", 0}, 1);
    EXPECT_EQ(newest.matched, 2u);
    ASSERT_EQ(newest.enrollments.size(), 1u);
    EXPECT_EQ(newest.enrollments[0].transaction_id, "tx-c");

    EnrollmentList since = find_enrollments(current_, {"laptop-7", "", "", *parse_audit_time(at(8, 0))}, 50);
    ASSERT_EQ(since.enrollments.size(), 1u);
    EXPECT_EQ(since.enrollments[0].transaction_id, "tx-b");

    EXPECT_TRUE(find_enrollments(current_, {"nobody", "", "", 0}, 50).enrollments.empty());
}

TEST_F(TrailQueryTest, FailuresGroupedSince) {
    write_gz("audit.log.1.gz", enrollment("tx-old", 1, "192.0.2.7", "CN=a", false));
    write("audit.log", enrollment("tx-1", 10, "192.0.2.7", "CN=a", false) +
                           enrollment("tx-2", 11, "192.0.2.8", "CN=b", false) +
                           enrollment("tx-3", 12, "192.0.2.8", "CN=b", true) +
                           line(at(13, 0), "tx-4", "envelope_decrypted", "failed", "PKIOperation", "192.0.2.9",
                                "the envelope cannot be decrypted with our RA key (bad decrypt)",
                                {{"fail_info", "badMessageCheck"}}) +
                           line(at(14, 0), "tx-5", "response_sent", "ok", "PKIOperation", "192.0.2.9",
                                "the store could not be opened", {{"pki_status", "FAILURE"}}));
    // The files were written now: the mtime shortcut must not skip them.
    FailureReport all = recent_failures(current_, 0);
    EXPECT_EQ(all.failures, 5u);
    ASSERT_EQ(all.groups.size(), 3u);
    EXPECT_EQ(all.groups[0].step, "challenge_password");
    EXPECT_EQ(all.groups[0].reason, "ChallengePasswordMismatch");
    EXPECT_EQ(all.groups[0].count, 3u);
    EXPECT_EQ(all.groups[0].fail_info, "badRequest");
    EXPECT_EQ(all.groups[0].transaction_ids, (std::vector<std::string>{"tx-old", "tx-1", "tx-2"}));
    ASSERT_NE(all.groups[0].hint, nullptr);

    FailureReport recent = recent_failures(current_, *parse_audit_time(at(10, 30)));
    EXPECT_EQ(recent.failures, 3u);
    std::set<std::string> reasons;
    for (const auto& g : recent.groups) reasons.insert(g.reason);
    EXPECT_EQ(reasons, (std::set<std::string>{"ChallengePasswordMismatch", "DecryptFailed", "service_unavailable"}));

    // A file not written since the cut-off is not even opened.
    FailureReport future = recent_failures(current_, (std::int64_t(std::time(nullptr)) + 3600) * 1000);
    EXPECT_EQ(future.failures, 0u);
}

}  // namespace
}  // namespace scepter
