// Every message ID is defined once.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <string>

TEST(LogIds, EachIdIsDefinedOnce) {
    std::ifstream header(SCEPTER_SOURCE_DIR "/core/include/scepter/log_ids.h");
    ASSERT_TRUE(header.good());
    std::regex define(R"re(#define\s+(SCEPTER_ID_\w+)\s+"(SCP\d{4})")re");
    std::map<std::string, std::string> seen;
    std::string line;
    int count = 0;
    while (std::getline(header, line)) {
        std::smatch m;
        if (!std::regex_search(line, m, define)) continue;
        ++count;
        auto [it, fresh] = seen.emplace(m[2], m[1]);
        EXPECT_TRUE(fresh) << m[2] << " is used by " << it->second << " and " << m[1];
    }
    EXPECT_GT(count, 10);
}
