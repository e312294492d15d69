// Reading audit lines back: what AuditLog::step writes parses into the same
// fields; times, ages, and lines that are not entries.
#include "audit_trail_fixture.h"
#include "codec/response.h"
#include "scepter/audit_trail.h"

#include <sstream>

namespace scepter {
namespace {

class AuditEntryTest : public TrailDir {};

TEST_F(AuditEntryTest, WhatTheWriterWritesReadsBack) {
    {
        AuditLog log(current_);
        AuditContext ctx{"tx \"1\"", "default", "PKIOperation", "PKCSReq", "192.0.2.7", "Dalvik/2.1.0", "Android", ""};
        Response resp;
        log.step(ctx, "SCP2019", "challenge_lookup", false, "ChallengeExpired: the challenge has expired", resp,
                 {{"fail_info", "badRequest"}});
    }
    std::ifstream in(current_);
    std::string text;
    std::getline(in, text);
    auto e = parse_audit_entry(text);
    ASSERT_TRUE(e) << text;
    EXPECT_EQ(e->transaction_id, "tx \"1\"");
    EXPECT_EQ(e->id, "SCP2019");
    EXPECT_EQ(e->step, "challenge_lookup");
    EXPECT_TRUE(e->failed());
    EXPECT_EQ(e->client_ip, "192.0.2.7");
    EXPECT_EQ(e->user_agent, "Dalvik/2.1.0");
    EXPECT_EQ(e->client_os, "Android");
    EXPECT_EQ(e->message_type, "PKCSReq");
    EXPECT_EQ(e->detail, "ChallengeExpired: the challenge has expired");
    EXPECT_EQ(e->field("fail_info"), "badRequest");
    EXPECT_EQ(e->field("absent"), "");
    EXPECT_GT(e->time_ms, std::int64_t(1700000000) * 1000);
}

TEST_F(AuditEntryTest, LinesThatAreNotEntries) {
    EXPECT_FALSE(parse_audit_entry(""));
    EXPECT_FALSE(parse_audit_entry("not json"));
    EXPECT_FALSE(parse_audit_entry("{\"time\":\"2026-01-01T00:00:00.000Z\"}"));           // no step
    EXPECT_FALSE(parse_audit_entry("{\"time\":\"yesterday\",\"step\":\"x\"}"));            // no time
    EXPECT_FALSE(parse_audit_entry("{\"time\":\"2026-01-01T00:00:00Z\",\"step\":1}"));     // not a string
    EXPECT_FALSE(parse_audit_entry("{\"time\":\"2026-01-01T00:00:00Z\",\"step\":\"x\""));  // cut short
    EXPECT_TRUE(parse_audit_entry("{\"time\":\"2026-01-01T00:00:00Z\",\"step\":\"x\"}"));
}

TEST(AuditTime, Iso8601) {
    EXPECT_EQ(parse_audit_time("1970-01-01T00:00:00.000Z"), 0);
    EXPECT_EQ(parse_audit_time("1970-01-01T00:00:01Z"), 1000);
    EXPECT_EQ(parse_audit_time("2026-11-25T06:30:00.123Z"), std::int64_t(1795588200) * 1000 + 123);
    EXPECT_EQ(parse_audit_time("2024-02-29T23:59:59.5Z"), std::int64_t(1709251199) * 1000 + 500);
    EXPECT_EQ(parse_audit_time(iso8601_utc_millis(1795588200, 7)), std::int64_t(1795588200) * 1000 + 7);
    for (const char* bad : {"", "2026-11-25", "2026-11-25T06:30:00", "2026-13-01T00:00:00Z", "2026-11-25T06:30:00.Z",
                            "2026-11-25 06:30:00Z", "2026-11-25T06:30:00.123+01:00"})
        EXPECT_FALSE(parse_audit_time(bad)) << bad;
}

TEST(AuditTime, Ages) {
    EXPECT_EQ(parse_duration("90s"), 90000);
    EXPECT_EQ(parse_duration("30m"), 30 * 60000);
    EXPECT_EQ(parse_duration("1h"), 3600000);
    EXPECT_EQ(parse_duration("2d"), 2 * 86400000LL);
    EXPECT_EQ(parse_duration("1w"), 7 * 86400000LL);
    for (const char* bad : {"", "h", "1", "0h", "-1h", "1.5h", "1y", " 1h", "99999999999d"})
        EXPECT_FALSE(parse_duration(bad)) << bad;
}

}  // namespace
}  // namespace scepter
