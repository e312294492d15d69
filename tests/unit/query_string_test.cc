// Query strings as SCEP clients really send them (base64: util_test.cc).
#include "codec/query_string.h"

#include "audit/audit.h"

#include <gtest/gtest.h>

namespace scepter {
namespace {

TEST(QueryString, SplitsAndPercentDecodes) {
    auto q = parse_query("operation=GetCACert&message=CA%20one&flag");
    EXPECT_EQ(q["operation"], "GetCACert");
    EXPECT_EQ(q["message"], "CA one");
    EXPECT_EQ(q.count("flag"), 1u);
}

TEST(QueryString, KeepsUnescapedPlusAndSlash) {
    // macOS sends the base64 message without escaping '+' and '/'.
    auto q = parse_query("operation=PKIOperation&message=ab+/cd==");
    EXPECT_EQ(q["message"], "ab+/cd==");
}

TEST(ClientOs, GuessesFromUserAgent) {
    EXPECT_EQ(guess_client_os("Dalvik/2.1.0 (Linux; U; Android 13)"), "Android");
    EXPECT_EQ(guess_client_os("mdmclient (unknown version) CFNetwork/1410 Darwin/22.6.0"), "iOS/macOS");
    EXPECT_EQ(guess_client_os("Mozilla/4.0 (compatible; Win32; NDES client; Windows NT 10.0)"), "Windows");
    EXPECT_EQ(guess_client_os("Mozilla/4.0 (compatible; Win32; NDES client)"), "Windows");
    EXPECT_EQ(guess_client_os("Mozilla/5.0 (X11; Linux x86_64) Chrome/120"), "browser");
    EXPECT_EQ(guess_client_os("Go-http-client/1.1"), "other");
    EXPECT_EQ(guess_client_os(""), "unknown");
}

}  // namespace
}  // namespace scepter
