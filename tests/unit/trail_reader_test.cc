// The trail's files: the current one and its rotations (numbered, dated,
// gzipped), oldest first, read as one stream of lines.
#include "audit_trail_fixture.h"
#include "scepter/audit_trail.h"

namespace scepter {
namespace {

class TrailReaderTest : public TrailDir {
   protected:
    // Every line of the trail, in reading order.
    std::vector<std::string> all_lines(std::vector<std::string>* errors = nullptr) {
        std::vector<std::string> out;
        auto files = trail_files(current_);
        for (std::size_t i = 0; i < files.size(); ++i) {
            std::string e = read_trail_file(files[i], i, [&](const TrailLine& l) {
                out.emplace_back(l.text);
                return true;
            });
            if (!e.empty() && errors) errors->push_back(e);
        }
        return out;
    }
};

TEST_F(TrailReaderTest, RotatedCopiesOldestFirst) {
    write("audit.log", "current-1\ncurrent-2\n");
    write("audit.log.1", "one\n");
    write_gz("audit.log.2.gz", "two-a\ntwo-b\n");
    write_gz("audit.log.10.gz", "ten\n");
    write("audit.log.bak", "not a rotation\n");
    write("other.log.1", "not ours\n");
    auto files = trail_files(current_);
    ASSERT_EQ(files.size(), 4u);
    EXPECT_TRUE(files[0].gzip);
    EXPECT_FALSE(files[3].gzip);
    EXPECT_EQ(all_lines(), (std::vector<std::string>{"ten", "two-a", "two-b", "one", "current-1", "current-2"}));
}

TEST_F(TrailReaderTest, DatedRotations) {
    write("audit.log", "now\n");
    write_gz("audit.log-20260102.gz", "jan2\n");
    write("audit.log-20260101", "jan1\n");
    EXPECT_EQ(all_lines(), (std::vector<std::string>{"jan1", "jan2", "now"}));
}

TEST_F(TrailReaderTest, OnlyRotationsLeft) {
    write("audit.log.1", "one\n");
    EXPECT_EQ(all_lines(), (std::vector<std::string>{"one"}));
    std::filesystem::remove(dir_ / "audit.log.1");
    EXPECT_TRUE(trail_files(current_).empty());
}

TEST_F(TrailReaderTest, LinesAcrossChunksLastLineAndCrLf) {
    // Lines that straddle the reader's 1 MiB buffer, a CRLF, and a last line
    // without its newline (a writer caught mid-line).
    std::string text;
    std::vector<std::string> want;
    for (int i = 0; i < 30000; ++i) {
        std::string l = "line-" + std::to_string(i) + std::string(std::size_t(i % 97), 'x');
        want.push_back(l);
        text += l + (i == 5 ? "\r\n" : "\n");
    }
    text += "tail";
    want.push_back("tail");
    write("audit.log", text);
    EXPECT_EQ(all_lines(), want);
    write_gz("audit.log.1.gz", text);
    std::filesystem::remove(dir_ / "audit.log");
    EXPECT_EQ(all_lines(), want);
}

TEST_F(TrailReaderTest, OverlongLinesAreSkipped) {
    write("audit.log", "before\n" + std::string(3u << 20, 'y') + "\nafter\n");
    EXPECT_EQ(all_lines(), (std::vector<std::string>{"before", "after"}));
}

TEST_F(TrailReaderTest, OffsetsAndStopping) {
    write("audit.log", "aa\nbbb\ncccc\n");
    auto files = trail_files(current_);
    std::vector<std::uint64_t> offsets;
    read_trail_file(files[0], 0, [&](const TrailLine& l) {
        offsets.push_back(l.offset);
        return offsets.size() < 2;
    });
    EXPECT_EQ(offsets, (std::vector<std::uint64_t>{0, 3}));
}

// `from` starts at the first line that begins at or after it: by seeking in
// a plain file, by reading through a gzip one (whatever its name).
TEST_F(TrailReaderTest, StartingFromAnOffset) {
    const std::string text = "aa\nbbb\ncccc\nd\n";
    write("plain", text);
    write_gz("packed", text);
    for (const char* name : {"plain", "packed"}) {
        TrailFile f{(dir_ / name).string(), false};
        auto from = [&](std::uint64_t offset) {
            std::vector<std::string> got;
            read_trail_file(f, 0, [&](const TrailLine& l) {
                got.push_back(std::to_string(l.offset) + ":" + std::string(l.text));
                return true;
            }, offset);
            return got;
        };
        EXPECT_EQ(from(0), (std::vector<std::string>{"0:aa", "3:bbb", "7:cccc", "12:d"})) << name;
        EXPECT_EQ(from(3), (std::vector<std::string>{"3:bbb", "7:cccc", "12:d"})) << name;
        EXPECT_EQ(from(4), (std::vector<std::string>{"7:cccc", "12:d"})) << name;
        EXPECT_EQ(from(1), (std::vector<std::string>{"3:bbb", "7:cccc", "12:d"})) << name;
        EXPECT_EQ(from(14), (std::vector<std::string>{})) << name;
        EXPECT_EQ(from(99), (std::vector<std::string>{})) << name;
    }
}

TEST_F(TrailReaderTest, TruncatedGzipReportsAndKeepsWhatCameBefore) {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "entry-" + std::to_string(i) + "\n";
    write_gz("audit.log.1.gz", text);
    auto size = std::filesystem::file_size(dir_ / "audit.log.1.gz");
    std::filesystem::resize_file(dir_ / "audit.log.1.gz", size / 2);
    write("audit.log", "current\n");
    std::vector<std::string> errors;
    auto lines = all_lines(&errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("audit.log.1.gz"), std::string::npos) << errors[0];
    ASSERT_GE(lines.size(), 2u);
    EXPECT_EQ(lines.front(), "entry-0");
    EXPECT_EQ(lines.back(), "current");  // the damaged file does not hide the rest
}

TEST_F(TrailReaderTest, UnreadableFileIsReported) {
    auto files = std::vector<TrailFile>{{(dir_ / "missing").string(), false}};
    std::string e = read_trail_file(files[0], 0, [](const TrailLine&) { return true; });
    EXPECT_NE(e.find("missing"), std::string::npos) << e;
}

}  // namespace
}  // namespace scepter
