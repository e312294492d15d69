// Status records (NDES's .CRS files): processing -> succeeded|failed, safe
// file names for client-chosen transaction IDs, atomic rewrites.
#include "integrations/status_records.h"

#include "util/json_flat.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace scepter {
namespace {

namespace fs = std::filesystem;

class StatusRecordsTest : public ::testing::Test {
   protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("scepter-status-" + std::to_string(getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::vector<std::string> files(const std::string& which) const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(dir_ / which)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }

    fs::path dir_;
};

TEST_F(StatusRecordsTest, CreatesTheThreeDirectories) {
    StatusRecords records(dir_.string());
    for (const char* sub : {"processing", "succeeded", "failed"}) {
        struct stat st {};
        ASSERT_EQ(stat((dir_ / sub).c_str(), &st), 0) << sub;
        EXPECT_TRUE(S_ISDIR(st.st_mode));
        EXPECT_EQ(st.st_mode & 0027, 0u) << sub;  // 0750 at most
    }
    StatusRecords again(dir_.string() + "/");  // existing directories are fine
    std::ofstream(dir_ / "plainfile") << "x";
    EXPECT_THROW(StatusRecords((dir_ / "plainfile").string()), std::runtime_error);
    EXPECT_THROW(StatusRecords((dir_ / "missing" / "parent").string()), std::runtime_error);
}

TEST_F(StatusRecordsTest, BeginThenSucceed) {
    StatusRecords records(dir_.string());
    records.begin("TX1", {{"profile", "devices"}, {"subject", "CN=phone"}});
    EXPECT_EQ(records.list("processing"), std::vector<std::string>{"TX1"});
    EXPECT_TRUE(records.list("succeeded").empty());
    auto r = records.read("processing", "TX1");
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["transaction_id"], "TX1");
    EXPECT_EQ((*r)["state"], "processing");
    EXPECT_EQ((*r)["profile"], "devices");
    EXPECT_EQ((*r)["started_at"].size(), 20u);  // 2026-11-25T06:30:00Z
    EXPECT_EQ(r->count("finished_at"), 0u);

    records.finish("TX1", true, {{"notification", "sent"}, {"certificate_serial", "0a1b"}});
    EXPECT_TRUE(records.list("processing").empty());
    EXPECT_EQ(records.list("succeeded"), std::vector<std::string>{"TX1"});
    EXPECT_FALSE(records.read("processing", "TX1"));
    r = records.read("succeeded", "TX1");
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["state"], "succeeded");
    EXPECT_EQ((*r)["profile"], "devices");  // merged, not replaced
    EXPECT_EQ((*r)["notification"], "sent");
    EXPECT_EQ((*r)["certificate_serial"], "0a1b");
    EXPECT_EQ((*r)["finished_at"].size(), 20u);
    EXPECT_EQ(files("succeeded"), std::vector<std::string>{"TX1.json"});
    EXPECT_TRUE(files("processing").empty());  // no temporary files left behind

    // The file is a flat JSON object of strings, mode 0640 at most.
    std::ifstream in(dir_ / "succeeded" / "TX1.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto object = parse_flat_json(text);
    for (const auto& [k, v] : object) EXPECT_TRUE(v.is_string()) << k;
    struct stat st {};
    ASSERT_EQ(stat((dir_ / "succeeded" / "TX1.json").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0137, 0u);
}

TEST_F(StatusRecordsTest, FailThenRetryUpdatesAndMoves) {
    StatusRecords records(dir_.string());
    records.begin("TX2", {{"subject", "CN=a"}});
    records.finish("TX2", false, {{"notification", "failed: HTTP 500"}, {"error", "denied"}});
    EXPECT_EQ(records.list("failed"), std::vector<std::string>{"TX2"});
    // The notification is sent again later: the record is updated in place.
    std::string finished_at = (*records.read("failed", "TX2"))["finished_at"];
    records.finish("TX2", false, {{"notification", "sent"}});
    auto r = records.read("failed", "TX2");
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["notification"], "sent");
    EXPECT_EQ((*r)["finished_at"], finished_at);  // when it ended does not change
    EXPECT_FALSE((*r)["updated_at"].empty());
    EXPECT_EQ((*r)["error"], "denied");
    EXPECT_EQ((*r)["subject"], "CN=a");

    // The device tries again with the same ID and this time succeeds: one
    // current state, the stale failed record goes.
    records.begin("TX2", {{"subject", "CN=a"}});
    EXPECT_EQ(records.list("processing"), std::vector<std::string>{"TX2"});
    records.finish("TX2", true, {{"notification", "sent"}});
    EXPECT_TRUE(records.list("processing").empty());
    EXPECT_TRUE(records.list("failed").empty());
    EXPECT_EQ(records.list("succeeded"), std::vector<std::string>{"TX2"});
}

TEST_F(StatusRecordsTest, FinishWithoutBegin) {
    StatusRecords records(dir_.string());
    records.finish("TX3", false, {{"error", "refused before the record began"}});
    auto r = records.read("failed", "TX3");
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["state"], "failed");
    EXPECT_FALSE((*r)["started_at"].empty());
}

TEST_F(StatusRecordsTest, HostileTransactionIdsMakeSafeNames) {
    EXPECT_EQ(status_record_name("ABCdef012_-"), "ABCdef012_-");
    EXPECT_EQ(status_record_name("../x"), "=2e2e2f78");
    EXPECT_EQ(status_record_name(".."), "=2e2e");
    EXPECT_EQ(status_record_name("a/b"), "=612f62");
    EXPECT_EQ(status_record_name("=61"), "=3d3631");  // cannot pose as an encoded name
    EXPECT_EQ(status_record_name(std::string(128, 'a')), std::string(128, 'a'));
    EXPECT_EQ(status_record_name(std::string(129, 'a'))[0], '#');  // too long to be plain, too long to encode
    std::string dots_hex;
    for (int i = 0; i < 100; ++i) dots_hex += "2e";
    EXPECT_EQ(status_record_name(std::string(100, '.')), "=" + dots_hex);
    EXPECT_EQ(status_record_name(std::string(101, '.'))[0], '#');
    EXPECT_EQ(status_record_name(std::string(101, '.')).size(), 65u);
    EXPECT_THROW(status_record_name(""), std::invalid_argument);

    StatusRecords records(dir_.string());
    const std::vector<std::string> ids{"../../etc/passwd", "..", ".", "a/b", "sp ace", std::string("nul\0x", 5),
                                       "\xFF\xFE", "=3d", "#", std::string(300, '/'), "plain-ID_1"};
    for (const auto& id : ids) {
        records.begin(id, {{"k", "v"}});
        records.finish(id, true, {{"notification", "none"}});
    }
    auto listed = records.list("succeeded");
    auto expected = ids;
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(listed, expected);
    for (const auto& id : ids) {
        auto r = records.read("succeeded", id);
        ASSERT_TRUE(r);
        EXPECT_EQ((*r)["notification"], "none");
    }
    // Nothing escaped the directory, nothing is hidden.
    for (const auto& name : files("succeeded")) {
        EXPECT_EQ(name.find('/'), std::string::npos);
        EXPECT_NE(name[0], '.');
    }
    EXPECT_FALSE(fs::exists(dir_ / "etc"));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 3);
}

TEST_F(StatusRecordsTest, ValuesThatAreNotUtf8AreStillReadable) {
    StatusRecords records(dir_.string());
    records.begin("TX4", {{"subject", "CN=caf\xE9"}, {"note", "line\nbreak \"quoted\""}});
    auto r = records.read("processing", "TX4");
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["subject"], "CN=caf\xEF\xBF\xBD");
    EXPECT_EQ((*r)["note"], "line\nbreak \"quoted\"");
}

TEST_F(StatusRecordsTest, BadStateNamesAndCorruptFiles) {
    StatusRecords records(dir_.string());
    EXPECT_THROW(records.list("pending"), std::invalid_argument);
    EXPECT_THROW(records.read("../processing", "x"), std::invalid_argument);
    EXPECT_FALSE(records.read("failed", "nothing"));
    std::ofstream(dir_ / "failed" / "broken.json") << "{not json";
    EXPECT_THROW(records.read("failed", "broken"), std::runtime_error);
    // A corrupt earlier copy does not stop the enrollment from finishing.
    records.finish("broken", true, {{"notification", "sent"}});
    EXPECT_TRUE(records.read("succeeded", "broken"));
    EXPECT_FALSE(fs::exists(dir_ / "failed" / "broken.json"));
    // Stray files are not listed.
    std::ofstream(dir_ / "succeeded" / ".tmp-1-2-x.json") << "{}";
    std::ofstream(dir_ / "succeeded" / "README") << "x";
    std::ofstream(dir_ / "succeeded" / "=zz.json") << "{}";
    EXPECT_EQ(records.list("succeeded"), std::vector<std::string>{"broken"});
}

TEST_F(StatusRecordsTest, ConcurrentWritersNeverLeaveAPartialRecord) {
    StatusRecords records(dir_.string());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&records, t] {
            for (int i = 0; i < 50; ++i) {
                std::string id = "T" + std::to_string(t) + "-" + std::to_string(i % 5);
                records.begin(id, {{"i", std::to_string(i)}});
                records.finish(id, i % 2 == 0, {{"notification", "sent"}});
            }
        });
    }
    // Meanwhile every record read parses.
    for (int i = 0; i < 200; ++i) {
        for (const char* which : {"processing", "succeeded", "failed"}) {
            for (const auto& id : records.list(which)) {
                try {
                    records.read(which, id);
                } catch (const std::runtime_error& e) {
                    ADD_FAILURE() << e.what();
                }
            }
        }
    }
    for (auto& th : threads) th.join();
    EXPECT_TRUE(records.list("processing").empty());
    EXPECT_EQ(records.list("succeeded").size() + records.list("failed").size(), 20u);
}

}  // namespace
}  // namespace scepter
