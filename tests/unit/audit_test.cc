// The audit trail's line format: one JSON object per line, its keys and
// their order, and what a failed step adds to the web server's log.
#include "audit/audit.h"

#include "scepter/log_ids.h"
#include "util/json_flat.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace scepter {
namespace {

namespace fs = std::filesystem;

class Audit : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-audit-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = (dir_ / "audit.log").string();
        ctx_.transaction_id = "tx-42";
        ctx_.profile = "default";
        ctx_.operation = "PKIOperation";
        ctx_.message_type = "PKCSReq";
        ctx_.client_ip = "192.0.2.7";
        ctx_.user_agent = "Dalvik/2.1.0 (Linux; U; Android 14)";
        ctx_.client_os = "Android";
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string file_text() const {
        std::ifstream in(path_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    fs::path dir_;
    std::string path_;
    AuditContext ctx_;
    Response resp_;
};

TEST_F(Audit, OneJsonObjectPerLineWithEveryKey) {
    AuditLog log(path_);
    log.step(ctx_, "SCP1234", "issue", true, "issued", resp_, {{"serial", "7F01"}, {"template", "Device"}});
    std::string text = file_text();
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(text.find('\n'), text.size() - 1);  // exactly one line
    FlatJsonObject o = parse_flat_json(text.substr(0, text.size() - 1));
    EXPECT_EQ(o.size(), 14u);
    const std::map<std::string, std::string> expected = {
        {"id", "SCP1234"},       {"step", "issue"},
        {"outcome", "ok"},       {"transaction_id", "tx-42"},
        {"profile", "default"},  {"operation", "PKIOperation"},
        {"message_type", "PKCSReq"}, {"client_ip", "192.0.2.7"},
        {"user_agent", "Dalvik/2.1.0 (Linux; U; Android 14)"}, {"client_os", "Android"},
        {"serial", "7F01"},      {"template", "Device"},
        {"detail", "issued"}};
    for (const auto& [key, value] : expected) {
        ASSERT_TRUE(o.count(key)) << key;
        EXPECT_TRUE(o[key].is_string()) << key;
        EXPECT_EQ(o[key].text, value) << key;
    }
    ASSERT_TRUE(o.count("time"));
    EXPECT_TRUE(std::regex_match(o["time"].text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << o["time"].text;
}

TEST_F(Audit, KeysComeInAFixedOrderTimeFirstDetailLast) {
    AuditLog log(path_);
    log.step(ctx_, "SCP1234", "issue", true, "issued", resp_, {{"serial", "7F01"}});
    std::string text = file_text();
    EXPECT_EQ(text.rfind("{\"time\":\"", 0), 0u);
    std::size_t last = 0;
    for (const char* key : {"\"id\"", "\"step\"", "\"outcome\"", "\"transaction_id\"", "\"profile\"",
                            "\"operation\"", "\"message_type\"", "\"client_ip\"", "\"user_agent\"",
                            "\"client_os\"", "\"serial\"", "\"detail\""}) {
        std::size_t at = text.find(key);
        ASSERT_NE(at, std::string::npos) << key;
        EXPECT_GT(at, last) << key;
        last = at;
    }
    const std::string end = "\"detail\":\"issued\"}\n";
    ASSERT_GT(text.size(), end.size());
    EXPECT_EQ(text.substr(text.size() - end.size()), end);
}

TEST_F(Audit, EmptyMessageTypeAndDetailAreLeftOut) {
    ctx_.message_type.clear();
    AuditLog log(path_);
    log.step(ctx_, "SCP1000", "getcacert", true, "", resp_);
    std::string text = file_text();
    FlatJsonObject o = parse_flat_json(text.substr(0, text.size() - 1));
    EXPECT_EQ(o.count("message_type"), 0u);
    EXPECT_EQ(o.count("detail"), 0u);
    EXPECT_EQ(o.size(), 10u);
}

TEST_F(Audit, EmptyContextValuesStayAsEmptyStrings) {
    AuditContext bare;
    AuditLog log(path_);
    log.step(bare, "SCP1000", "decode", true, "", resp_);
    std::string text = file_text();
    FlatJsonObject o = parse_flat_json(text.substr(0, text.size() - 1));
    ASSERT_TRUE(o.count("transaction_id"));
    EXPECT_EQ(o["transaction_id"].text, "");
    EXPECT_EQ(o["client_ip"].text, "");
}

TEST_F(Audit, LinesAreAppendedOnePerStep) {
    {
        std::ofstream earlier(path_);
        earlier << "{\"earlier\":\"line\"}\n";
    }
    AuditLog log(path_);
    log.step(ctx_, "SCP1001", "decode", true, "", resp_);
    log.step(ctx_, "SCP1002", "challenge", true, "", resp_);
    std::istringstream lines(file_text());
    std::vector<std::string> all;
    for (std::string line; std::getline(lines, line);) all.push_back(line);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0], "{\"earlier\":\"line\"}");
    EXPECT_EQ(parse_flat_json(all[1])["step"].text, "decode");
    EXPECT_EQ(parse_flat_json(all[2])["step"].text, "challenge");
}

// What a worker killed in the middle of its write() leaves (Linux stops a
// write between pages when a fatal signal is pending): the first part of a
// line, no newline. The next line must not be glued to it.
TEST_F(Audit, ALineCutByADeadWriterDoesNotSwallowTheNext) {
    const std::string cut = "{\"time\":\"2024-05-01T10:00:00.000Z\",\"id\":\"SCP2009\",\"st";
    {
        std::ofstream earlier(path_);
        earlier << "{\"earlier\":\"line\"}\n" << cut;
    }
    AuditLog log(path_);
    log.step(ctx_, "SCP1001", "decode", true, "", resp_);
    log.step(ctx_, "SCP1002", "challenge", true, "", resp_);
    std::istringstream lines(file_text());
    std::vector<std::string> all;
    for (std::string line; std::getline(lines, line);) all.push_back(line);
    ASSERT_EQ(all.size(), 4u) << file_text();
    EXPECT_EQ(all[1], cut);  // the fragment stays, alone on its line
    EXPECT_EQ(parse_flat_json(all[2])["step"].text, "decode");
    EXPECT_EQ(parse_flat_json(all[3])["step"].text, "challenge");  // and no blank line before it
}

// Workers forked with the log open (as nginx's and Apache's are) append at
// once, lines longer than a page: every line whole, none blank. Without the
// lock between processes, a line another worker is still writing looks cut.
TEST_F(Audit, WorkersWritingAtOnceLeaveWholeLinesAndNoBlankOnes) {
    constexpr int kWorkers = 4, kLines = 300;
    AuditLog log(path_);
    const std::string detail(5000, 'x');
    std::vector<pid_t> children;
    for (int w = 0; w < kWorkers; ++w) {
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            Response resp;
            for (int i = 0; i < kLines; ++i) log.step(ctx_, "SCP1001", "decode", true, detail, resp);
            _exit(resp.logs.empty() ? 0 : 1);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    std::istringstream lines(file_text());
    int count = 0;
    for (std::string line; std::getline(lines, line); ++count) {
        ASSERT_FALSE(line.empty()) << "a blank line after line " << count;
        ASSERT_EQ(parse_flat_json(line)["detail"].text, detail) << "line " << count + 1;
    }
    EXPECT_EQ(count, kWorkers * kLines);
}

// A file the process may append to but not read: it cannot look for a cut
// line, and still writes.
TEST_F(Audit, AWriteOnlyFileIsStillAppendedTo) {
    {
        std::ofstream earlier(path_);
        earlier << "{\"earlier\":\"line\"}\n";
    }
    fs::permissions(path_, fs::perms::owner_write);
    if (access(path_.c_str(), R_OK) == 0) GTEST_SKIP() << "running as root: every file is readable";
    AuditLog log(path_);
    log.step(ctx_, "SCP1001", "decode", true, "", resp_);
    EXPECT_TRUE(resp_.logs.empty());
    fs::permissions(path_, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_NE(file_text().find("\"step\":\"decode\""), std::string::npos);
}

TEST_F(Audit, SpecialCharactersAreEscapedAndReadBack) {
    AuditLog log(path_);
    std::string detail = "CN=\"a\\b\"\tline1\nline2\x01";
    log.step(ctx_, "SCP1003", "policy", true, detail, resp_, {{"sans", "dns:a, dns:b"}});
    std::string text = file_text();
    EXPECT_EQ(text.find('\n'), text.size() - 1);  // the newline in detail is escaped
    FlatJsonObject o = parse_flat_json(text.substr(0, text.size() - 1));
    EXPECT_EQ(o["detail"].text, detail);
    EXPECT_EQ(o["sans"].text, "dns:a, dns:b");
}

TEST_F(Audit, SuccessfulStepLogsNothingElse) {
    AuditLog log(path_);
    log.step(ctx_, "SCP1004", "issue", true, "issued", resp_);
    EXPECT_TRUE(resp_.logs.empty());
}

TEST_F(Audit, FailedStepSaysFailedAndWarnsWithTheTransaction) {
    AuditLog log(path_);
    log.step(ctx_, "SCP1005", "template", false, "template 'x' forbids OU", resp_);
    std::string text = file_text();
    EXPECT_EQ(parse_flat_json(text.substr(0, text.size() - 1))["outcome"].text, "failed");
    ASSERT_EQ(resp_.logs.size(), 1u);
    EXPECT_EQ(resp_.logs[0].level, SCEPTER_LOG_WARN);
    EXPECT_EQ(resp_.logs[0].text,
              std::string(SCEPTER_ID_STEP_FAILED) + " transaction tx-42: template failed: template 'x' forbids OU");
}

TEST_F(Audit, FailedStepWithoutTransactionNamesTheClient) {
    ctx_.transaction_id.clear();
    AuditLog log(path_);
    log.step(ctx_, "SCP1006", "decode", false, "not a pkiMessage", resp_);
    ASSERT_EQ(resp_.logs.size(), 1u);
    EXPECT_EQ(resp_.logs[0].text,
              std::string(SCEPTER_ID_STEP_FAILED) + " client 192.0.2.7: decode failed: not a pkiMessage");
}

TEST_F(Audit, WithoutAFileTheLineGoesToTheServerLog) {
    AuditLog log("");
    log.step(ctx_, "SCP1007", "issue", true, "issued", resp_);
    ASSERT_EQ(resp_.logs.size(), 1u);
    EXPECT_EQ(resp_.logs[0].level, SCEPTER_LOG_INFO);
    const std::string& line = resp_.logs[0].text;
    ASSERT_FALSE(line.empty());
    EXPECT_NE(line.back(), '\n');
    FlatJsonObject o = parse_flat_json(line);
    EXPECT_EQ(o["id"].text, "SCP1007");
    EXPECT_EQ(o["detail"].text, "issued");
}

TEST_F(Audit, UnopenablePathIsRefusedAtConfigurationTime) {
    std::string bad = (dir_ / "missing" / "audit.log").string();
    try {
        AuditLog log(bad);
        FAIL() << "opened " << bad;
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "cannot open the audit log '" + bad + "': No such file or directory");
    }
}

}  // namespace
}  // namespace scepter
