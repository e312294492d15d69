// The metrics block and its exposition text: exact counts across processes,
// counts kept when the block is attached again (a reload), bounded label
// tables, and text that Prometheus's own checker accepts.
#include "audit/audit_metrics.h"
#include "metrics/metrics.h"
#include "scepter/log_ids.h"

#include <gtest/gtest.h>

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

namespace scepter::metrics {
namespace {

// Shared anonymous memory, as both web servers hand it over.
struct SharedMemory {
    SharedMemory() : len(sizeof(Block)) {
        mem = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    }
    ~SharedMemory() { munmap(mem, len); }
    void* mem;
    std::size_t len;
};

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, UnattachedCountsNothing) {
    Metrics m;
    m.request("PKIOperation", "PKCSReq", "default", out_success, 1000);
    m.store_error();
    EXPECT_FALSE(m.attached());
    EXPECT_EQ(m.render(nullptr, 0), "");
}

TEST(Metrics, TooSmallMemoryIsRefused) {
    SharedMemory shm;
    Metrics m;
    EXPECT_FALSE(m.attach(shm.mem, sizeof(Block) - 1));
    EXPECT_FALSE(m.attach(static_cast<char*>(shm.mem) + 1, sizeof(Block) - 8));
}

TEST(Metrics, EmptyBlockAnnouncesEveryFamily) {
    SharedMemory shm;
    Metrics m;
    ASSERT_TRUE(m.attach(shm.mem, shm.len));
    StoreGauges g;
    std::string text = m.render(&g, 100);
    for (const char* family : {"scepter_requests_total", "scepter_request_duration_seconds", "scepter_failures_total",
                               "scepter_step_duration_seconds", "scepter_challenges_total",
                               "scepter_certificates_issued_total", "scepter_certificates_revoked_total",
                               "scepter_validation_calls_total", "scepter_validation_duration_seconds",
                               "scepter_policy_errors_total", "scepter_store_errors_total", "scepter_pending_requests"}) {
        EXPECT_NE(text.find(std::string("# HELP ") + family + " "), std::string::npos) << family;
        EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
    }
    EXPECT_TRUE(has_line(text, "scepter_store_errors_total 0"));
    EXPECT_TRUE(has_line(text, "scepter_pending_requests 0"));
    // No CRL yet: no CRL gauges rather than a made-up number.
    EXPECT_EQ(text.find("scepter_crl_number"), std::string::npos);
}

TEST(Metrics, RendersCountsAndCumulativeHistograms) {
    SharedMemory shm;
    Metrics m;
    ASSERT_TRUE(m.attach(shm.mem, shm.len));
    m.request("PKIOperation", "PKCSReq", "default", out_success, 3'000'000);   // 3 ms
    m.request("PKIOperation", "PKCSReq", "default", out_success, 30'000'000);  // 30 ms
    m.request("PKIOperation", "PKCSReq", "default", out_failure, 20'000'000'000ULL);  // 20 s: +Inf
    m.request("GetCACaps", "", "legacy", out_success, 1000);
    m.failure("challenge_password", "ChallengePasswordMismatch");
    m.challenge("default", ch_issued);
    m.certificate_issued("default");
    m.validation(call_validate, true, 2'000'000);
    m.store_error();
    StoreGauges g;
    g.pending_requests = 2;
    g.crl_number = 7;
    g.crl_this_update = 1000;
    std::string text = m.render(&g, 1060);

    EXPECT_TRUE(has_line(text, R"(scepter_requests_total{operation="PKIOperation",message_type="PKCSReq",profile="default",outcome="success"} 2)"));
    EXPECT_TRUE(has_line(text, R"(scepter_requests_total{operation="PKIOperation",message_type="PKCSReq",profile="default",outcome="failure"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_requests_total{operation="GetCACaps",message_type="",profile="legacy",outcome="success"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_request_duration_seconds_bucket{operation="PKIOperation",le="0.0025"} 0)"));
    EXPECT_TRUE(has_line(text, R"(scepter_request_duration_seconds_bucket{operation="PKIOperation",le="0.005"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_request_duration_seconds_bucket{operation="PKIOperation",le="0.05"} 2)"));
    EXPECT_TRUE(has_line(text, R"(scepter_request_duration_seconds_bucket{operation="PKIOperation",le="10"} 2)"));
    EXPECT_TRUE(has_line(text, R"(scepter_request_duration_seconds_bucket{operation="PKIOperation",le="+Inf"} 3)"));
    EXPECT_TRUE(has_line(text, R"(scepter_request_duration_seconds_sum{operation="PKIOperation"} 20.033000000)"));
    EXPECT_TRUE(has_line(text, R"(scepter_request_duration_seconds_count{operation="PKIOperation"} 3)"));
    EXPECT_TRUE(has_line(text, R"(scepter_failures_total{step="challenge_password",reason="ChallengePasswordMismatch"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_challenges_total{profile="default",event="issued"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_certificates_issued_total{profile="default"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_validation_calls_total{call="validate",outcome="ok"} 1)"));
    EXPECT_TRUE(has_line(text, "scepter_store_errors_total 1"));
    EXPECT_TRUE(has_line(text, "scepter_pending_requests 2"));
    EXPECT_TRUE(has_line(text, "scepter_crl_number 7"));
    EXPECT_TRUE(has_line(text, "scepter_crl_age_seconds 60"));
    // Series that never counted are not listed.
    EXPECT_EQ(text.find("operation=\"GetCACert\""), std::string::npos);
}

// A reload or graceful restart attaches the same memory again: the counts go on.
TEST(Metrics, AttachingAgainKeepsTheCounts) {
    SharedMemory shm;
    {
        Metrics first;
        ASSERT_TRUE(first.attach(shm.mem, shm.len));
        first.certificate_issued("default");
    }
    Metrics second;
    ASSERT_TRUE(second.attach(shm.mem, shm.len));
    second.certificate_issued("default");
    EXPECT_TRUE(has_line(second.render(nullptr, 0), R"(scepter_certificates_issued_total{profile="default"} 2)"));
    // Memory that holds something else is formatted, not trusted.
    static_cast<Block*>(shm.mem)->magic ^= 1;
    Metrics third;
    ASSERT_TRUE(third.attach(shm.mem, shm.len));
    EXPECT_EQ(third.render(nullptr, 0).find("scepter_certificates_issued_total{"), std::string::npos);
}

TEST(Metrics, ProfileTableOverflowsIntoOther) {
    SharedMemory shm;
    Metrics m;
    ASSERT_TRUE(m.attach(shm.mem, shm.len));
    for (int i = 0; i < kProfiles + 5; ++i) m.certificate_issued("p" + std::to_string(i));
    m.certificate_issued("other");                  // a profile so named shares the overflow slot
    m.certificate_issued(std::string(200, 'x'));    // too long for a slot
    std::string text = m.render(nullptr, 0);
    EXPECT_TRUE(has_line(text, R"(scepter_certificates_issued_total{profile="p0"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_certificates_issued_total{profile="p30"} 1)"));
    EXPECT_FALSE(has_line(text, R"(scepter_certificates_issued_total{profile="p31"} 1)"));
    // p31..p36 (6), "other" and the long name
    EXPECT_TRUE(has_line(text, R"(scepter_certificates_issued_total{profile="other"} 8)"));
}

TEST(Metrics, LabelValuesAreEscaped) {
    SharedMemory shm;
    Metrics m;
    ASSERT_TRUE(m.attach(shm.mem, shm.len));
    m.certificate_issued("a\"b\\c\nd");
    EXPECT_TRUE(has_line(m.render(nullptr, 0), R"(scepter_certificates_issued_total{profile="a\"b\\c\nd"} 1)"));
}

// Four processes counting at once, as nginx's workers do: not one lost.
TEST(Metrics, CountsAreExactAcrossProcesses) {
    SharedMemory shm;
    Metrics m;
    ASSERT_TRUE(m.attach(shm.mem, shm.len));
    constexpr int kChildren = 4, kEach = 20000;
    for (int c = 0; c < kChildren; ++c) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            for (int i = 0; i < kEach; ++i) {
                m.request("PKIOperation", "PKCSReq", "p" + std::to_string(i % 3), out_success, 1000);
                m.failure("challenge_lookup", "ChallengeNotFound");
            }
            _exit(0);
        }
    }
    for (int c = 0; c < kChildren; ++c) {
        int status = 0;
        wait(&status);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    std::string text = m.render(nullptr, 0);
    EXPECT_TRUE(has_line(text, R"(scepter_failures_total{step="challenge_lookup",reason="ChallengeNotFound"} 80000)"));
    EXPECT_TRUE(has_line(text, R"(scepter_request_duration_seconds_count{operation="PKIOperation"} 80000)"));
    // Every process claimed the profile names in the same slots: one series each.
    std::regex series(R"(scepter_requests_total\{[^}]*profile="p[0-2]"[^}]*\} (\d+))");
    std::set<std::string> seen;
    long total = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), series); it != std::sregex_iterator(); ++it) {
        seen.insert(it->str());
        total += std::stol((*it)[1]);
    }
    EXPECT_EQ(seen.size(), 3u);
    EXPECT_EQ(total, kChildren * kEach);
}

// Prometheus's own checker, where it is installed (Debian's prometheus).
TEST(Metrics, PromtoolAcceptsTheText) {
    if (std::system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "promtool is not installed";
    SharedMemory shm;
    Metrics m;
    ASSERT_TRUE(m.attach(shm.mem, shm.len));
    m.request("PKIOperation", "PKCSReq", "default", out_success, 3'000'000);
    m.failure("challenge_password", "ChallengePasswordMismatch");
    m.step_time("challenge_password", 1000);
    m.challenge("default", ch_consumed);
    m.certificate_revoked("default");
    m.validation(call_notify, false, 5'000'000);
    m.policy_error("default");
    StoreGauges g;
    g.crl_number = 1;
    g.crl_this_update = 0;
    auto path = std::filesystem::temp_directory_path() / ("scepter-metrics-" + std::to_string(getpid()) + ".txt");
    std::ofstream(path) << m.render(&g, 10);
    int rc = std::system(("promtool check metrics < " + path.string() + " > " + path.string() + ".out 2>&1").c_str());
    std::ifstream out(path.string() + ".out");
    std::stringstream complaints;
    complaints << out.rdbuf();
    std::filesystem::remove(path);
    std::filesystem::remove(path.string() + ".out");
    EXPECT_EQ(rc, 0) << complaints.str();
}

// docs/METRICS.md lists every family the renderer announces.
TEST(Metrics, TheDocListsEveryFamily) {
    SharedMemory shm;
    Metrics m;
    ASSERT_TRUE(m.attach(shm.mem, shm.len));
    StoreGauges g;
    g.crl_number = 1;
    std::string text = m.render(&g, 0);
    std::ifstream in(std::filesystem::path(SCEPTER_SOURCE_DIR) / "docs" / "METRICS.md");
    std::stringstream doc;
    doc << in.rdbuf();
    ASSERT_FALSE(doc.str().empty());
    std::regex type_line(R"(# TYPE (\S+) )");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), type_line); it != std::sregex_iterator(); ++it)
        EXPECT_NE(doc.str().find("`" + (*it)[1].str() + "`"), std::string::npos) << (*it)[1].str();
}

// Which audit step moves which counter (audit/audit_metrics.cc).
TEST(Metrics, AuditStepsMoveTheirCounters) {
    SharedMemory shm;
    Metrics m;
    ASSERT_TRUE(m.attach(shm.mem, shm.len));
    AuditContext ctx{"tx1", "default", "PKIOperation", "PKCSReq", "192.0.2.1", "", "", ""};
    count_step(m, ctx, "challenge_lookup", false, "ChallengeExpired: the challenge has expired", {{"fail_info", "badRequest"}});
    count_step(m, ctx, "csr_checked", false, "some text no hint knows", {{"fail_info", "badAlg"}});
    count_step(m, ctx, "cert_issued", true, "", {});
    count_step(m, ctx, "cert_revoked", true, "", {});
    time_step(m, "external_validation", false, 2'000'000);
    time_step(m, "outcome_notified", true, 1'000'000);
    count_log_lines(m, "default", {{SCEPTER_LOG_ERROR, SCEPTER_ID_STORE_FAILED " the store is read-only"},
                                   {SCEPTER_LOG_ERROR, SCEPTER_ID_POLICY_FAILED " transaction tx1: instruction limit"},
                                   {SCEPTER_LOG_WARN, SCEPTER_ID_STEP_FAILED " something else"}});
    std::string text = m.render(nullptr, 0);
    EXPECT_TRUE(has_line(text, R"(scepter_failures_total{step="challenge_lookup",reason="ChallengeExpired"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_challenges_total{profile="default",event="expired"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_certificates_issued_total{profile="default"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_certificates_revoked_total{profile="default"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_validation_calls_total{call="validate",outcome="failed"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_validation_calls_total{call="notify",outcome="ok"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_validation_duration_seconds_count{call="validate"} 1)"));
    EXPECT_TRUE(has_line(text, R"(scepter_step_duration_seconds_count{step="external_validation"} 1)"));
    EXPECT_TRUE(has_line(text, "scepter_store_errors_total 1"));
    EXPECT_TRUE(has_line(text, R"(scepter_policy_errors_total{profile="default"} 1)"));
    // The reason is never the free text of a failure: a bounded label.
    EXPECT_EQ(text.find("some text no hint knows"), std::string::npos);
}

}  // namespace
}  // namespace scepter::metrics
