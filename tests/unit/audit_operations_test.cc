// Operating the audit trail: reopening after logrotate's rename, the
// sampling of GET lines, a failure logged elsewhere, and the escaping the
// enrollments page relies on.
#include "audit/audit.h"
#include "audit/get_sampling.h"
#include "audit/trail_scan.h"
#include "scepter/text.h"
#include "util/html_text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace scepter {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class AuditOps : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-audit-ops-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ctx_.transaction_id = "tx-1";
        ctx_.operation = "PKIOperation";
        ctx_.client_ip = "192.0.2.1";
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    AuditContext ctx_;
    Response resp_;
};

TEST_F(AuditOps, ReopenAfterRenameWritesToANewFileAndLosesNothing) {
    const fs::path current = dir_ / "audit.log", rotated = dir_ / "audit.log.1";
    AuditLog log(current.string());
    log.step(ctx_, "SCP2003", "message_parsed", true, "", resp_);
    fs::rename(current, rotated);
    log.step(ctx_, "SCP2004", "signature_verified", true, "", resp_);  // before the reopen: the old file
    EXPECT_EQ(log.reopen(), "");
    log.step(ctx_, "SCP2010", "response_sent", true, "", resp_);
    std::string old = read_all(rotated), now = read_all(current);
    EXPECT_NE(old.find("message_parsed"), std::string::npos);
    EXPECT_NE(old.find("signature_verified"), std::string::npos);
    EXPECT_EQ(old.find("response_sent"), std::string::npos);
    EXPECT_NE(now.find("response_sent"), std::string::npos);
    EXPECT_EQ(std::count(now.begin(), now.end(), '\n'), 1);
}

TEST_F(AuditOps, ReopenFailureIsReportedAndTheOldFileKept) {
    const fs::path sub = dir_ / "sub";
    fs::create_directory(sub);
    AuditLog log((sub / "audit.log").string());
    fs::rename(sub / "audit.log", dir_ / "moved.log");
    fs::remove(sub);  // nowhere to create the new file
    std::string why = log.reopen();
    EXPECT_NE(why.find("cannot open the audit log"), std::string::npos) << why;
    log.step(ctx_, "SCP2003", "message_parsed", true, "", resp_);
    EXPECT_NE(read_all(dir_ / "moved.log").find("message_parsed"), std::string::npos);
}

TEST_F(AuditOps, FailureLoggedElsewhereIsAFailedLineWithoutASecondWarning) {
    AuditLog log((dir_ / "audit.log").string());
    log.failure_logged_elsewhere(ctx_, "SCP2010", "response_sent", "service_unavailable: no store", resp_,
                                 {{"pki_status", "FAILURE"}});
    EXPECT_TRUE(resp_.logs.empty());
    std::string text = read_all(dir_ / "audit.log");
    EXPECT_NE(text.find("\"outcome\":\"failed\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"detail\":\"service_unavailable: no store\""), std::string::npos) << text;
}

TEST_F(AuditOps, AWindowIsReadFromWhereItStarts) {
    // 4000 lines, one a minute, ~200 bytes each: ~800 KiB.
    const fs::path path = dir_ / "audit.log";
    const std::int64_t start = 1'700'000'000'000;
    {
        std::ofstream out(path);
        for (int i = 0; i < 4000; ++i) {
            std::int64_t ms = start + std::int64_t(i) * 60000;
            out << "{\"time\":\"" << iso8601_utc_millis(ms / 1000, int(ms % 1000)) << "\",\"step\":\"get_ca_caps\""
                << ",\"outcome\":\"ok\",\"transaction_id\":\"tx-" << i << "\",\"operation\":\"PKIOperation\""
                << ",\"padding\":\"" << std::string(100, 'x') << "\"}\n";
        }
    }
    TrailFile f{path.string(), false};
    const std::int64_t since = start + 3000LL * 60000;  // the last quarter
    std::uint64_t from = window_offset(f, 0, since);
    EXPECT_GE(from, fs::file_size(path) / 2);  // to within kBisectUntil of the window
    std::int64_t first = -1;
    read_trail_file(f, 0, [&](const TrailLine& l) {
        first = *parse_audit_time(raw_field(l.text, "time"));
        return false;
    }, from);
    EXPECT_LT(first, since - 60000);  // from before the window, late writers included
    // and the questions still see every line of the window
    EnrollmentQuery q;
    q.since_ms = since;
    EnrollmentList list = find_enrollments(path.string(), q, 0);
    EXPECT_EQ(list.matched, 1000u);
    EXPECT_EQ(window_offset(TrailFile{path.string(), true}, 0, since), 0u);  // gzip: from the start
}

TEST(GetSampling, AllNoneAndFirstPerClientPerMinute) {
    GetRequestSampler all(AuditGetRequests::all), none(AuditGetRequests::none),
        first(AuditGetRequests::first_per_client_per_minute);
    const std::int64_t t = 1'700'000'000'000;  // a minute starts at t - 20 s
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(all.should_log("GetCACaps", "192.0.2.1", t));
        EXPECT_FALSE(none.should_log("GetCACaps", "192.0.2.1", t));
    }
    EXPECT_TRUE(first.should_log("GetCACaps", "192.0.2.1", t));
    EXPECT_FALSE(first.should_log("GetCACaps", "192.0.2.1", t + 1000));
    EXPECT_TRUE(first.should_log("GetCACert", "192.0.2.1", t + 1000));  // another operation
    EXPECT_TRUE(first.should_log("GetCACaps", "192.0.2.2", t + 1000));  // another client
    EXPECT_TRUE(first.should_log("GetCACaps", "192.0.2.1", t + 60000));  // the next minute
}

TEST(HtmlText, EscapesMarkupQuotesAndControlCharacters) {
    EXPECT_EQ(html_escape("CN=<script>alert('x')</script>&\"q\""),
              "CN=&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;q&quot;");
    EXPECT_EQ(html_escape("a\x01\x1b[31mb\x7f\n"), "a[31mb\n");
    EXPECT_EQ(html_escape("\xff"), "\xef\xbf\xbd");  // invalid UTF-8 replaced
    EXPECT_EQ(url_encode("a b&c=d/\xc3\xa9~"), "a%20b%26c%3Dd%2F%C3%A9~");
}

}  // namespace
}  // namespace scepter
