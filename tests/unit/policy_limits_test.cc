// Policies are bounded in wall-clock time, including inside the C library
// functions whose loops the instruction count cannot see: a policy that hits
// a limit fails (PolicyError), quickly, and the engine serves the next call.
#include "policy/policy.h"
#include "scepter/config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

namespace scepter {
namespace {

using Clock = std::chrono::steady_clock;

class PolicyLimitsTest : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-policy-limits-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

    // A policy whose verify_request runs `body` for req.profile == "bad" and
    // otherwise allows with template "ok".
    std::unique_ptr<PolicyEngine> engine(const std::string& body, const PolicyLimits& limits = {}) {
        std::string path = dir_ + "/p.lua";
        std::ofstream(path) << "function verify_request(req)\n"
                               "  if req.profile == 'bad' then\n" << body << "\n  end\n"
                               "  return scep.allow('ok')\nend\n";
        return PolicyEngine::compile(path, limits);
    }

    // The error text of a "bad" call (or "no error"), and how long it took.
    std::string run_bad(PolicyEngine& e, double& seconds) {
        PolicyRequest bad;
        bad.profile = "bad";
        Clock::time_point start = Clock::now();
        std::string error = "no error";
        try {
            e.verify_request(bad);
        } catch (const PolicyError& err) {
            error = err.what();
        }
        seconds = std::chrono::duration<double>(Clock::now() - start).count();
        return error;
    }

    static void expect_still_serves(PolicyEngine& e) {
        PolicyRequest fine;
        EXPECT_EQ(e.verify_request(fine).template_name, "ok");
    }

    std::string dir_;
};

TEST_F(PolicyLimitsTest, BacktrackingPatternOnALongBuiltStringIsRefusedAtOnce) {
    auto e = engine(R"(string.find(string.rep("a", 100000), "(.-)-(.-)-(.-)-(.-)-x"))");
    double seconds = 0;
    std::string error = run_bad(*e, seconds);
    EXPECT_NE(error.find("over the policy limit of 4096 bytes"), std::string::npos) << error;
    EXPECT_LT(seconds, 1.0);
    expect_still_serves(*e);
}

TEST_F(PolicyLimitsTest, BacktrackingPatternWithinTheSubjectLimitIsRefusedToo) {
    // 4000 bytes, under the subject limit, but hours of backtracking: each
    // (.-) multiplies the matcher's worst case by the subject's length.
    for (const char* call : {R"(string.find(("a-"):rep(2000), "(.-)-(.-)-(.-)-(.-)-x"))",
                             R"(local s = ("a-"):rep(2000); s:match("(.-)-(.-)-(.-)-x"))",
                             R"(for w in ("a-"):rep(2000):gmatch("(.-)-(.-)-(.-)-x") do end)",
                             R"(local s = ("a-"):rep(2000); s:gsub("^(.-)-(.-)-(.-)-x", ""))"}) {
        auto e = engine(call);
        double seconds = 0;
        std::string error = run_bad(*e, seconds);
        EXPECT_NE(error.find("pattern too costly"), std::string::npos) << call << ": " << error;
        EXPECT_LT(seconds, 1.0) << call;
        expect_still_serves(*e);
    }
}

TEST_F(PolicyLimitsTest, LegitimatePatternsOnASubjectStillWork) {
    std::string path = dir_ + "/p.lua";
    std::ofstream(path) << R"lua(
        function verify_request(req)
          local cn = req.subject:match("CN=([^,]+)")
          local s, e = string.find(req.subject, "O=Example", 1, true)
          local host, domain = cn:match("^([%w%-]+)%.(.+)$")
          local n = 0
          for part in req.subject:gmatch("[^,]+") do n = n + 1 end
          local masked = req.subject:gsub("%d", "#")
          if cn == "dev1.corp.example" and s and host == "dev1" and domain == "corp.example"
             and n == 2 and masked == "CN=dev#.corp.example,O=Example" then
            return scep.allow("ok")
          end
          return scep.deny("no match: " .. tostring(cn))
        end)lua";
    auto e = PolicyEngine::compile(path, {});
    PolicyRequest r;
    r.subject = "CN=dev1.corp.example,O=Example";
    PolicyDecision d = e->verify_request(r);
    EXPECT_EQ(d.verdict, PolicyDecision::Verdict::allow) << d.reason;
}

TEST_F(PolicyLimitsTest, SubjectLimitIsConfigurable) {
    PolicyLimits limits;
    limits.max_pattern_subject_bytes = 256;
    auto e = engine(R"(string.find(("x"):rep(300), "y"))", limits);
    double seconds = 0;
    EXPECT_NE(run_bad(*e, seconds).find("subject of 300 bytes is over the policy limit of 256 bytes"),
              std::string::npos);
    limits.max_pattern_subject_bytes = 512;
    auto roomy = engine(R"(assert(string.find(("x"):rep(300) .. "y", "y") == 301))", limits);
    EXPECT_EQ(run_bad(*roomy, seconds), "no error");
}

TEST_F(PolicyLimitsTest, BusyLoopStopsAtTheTimeLimit) {
    PolicyLimits limits;
    limits.max_instructions = 1'000'000'000;  // out of reach within the time limit
    limits.max_time_ms = 200;
    auto e = engine("while true do pcall(function() while true do end end) end", limits);
    double seconds = 0;
    std::string error = run_bad(*e, seconds);
    EXPECT_NE(error.find("time limit exceeded (200 ms)"), std::string::npos) << error;
    EXPECT_GE(seconds, 0.2);
    EXPECT_LT(seconds, 1.0);
    expect_still_serves(*e);
}

TEST_F(PolicyLimitsTest, LoopsInsideOtherLibraryFunctionsAreBounded) {
    for (const char* call : {"string.rep('', math.maxinteger)", "('').rep('', 1 << 40, '')"}) {
        auto e = engine(std::string("assert(") + call + " == '') error('reached')");
        double seconds = 0;
        EXPECT_NE(run_bad(*e, seconds).find("reached"), std::string::npos) << call;
        EXPECT_LT(seconds, 1.0) << call;
    }
    auto e = engine("table.move({}, 1, math.maxinteger - 1, 2)");
    double seconds = 0;
    std::string error = run_bad(*e, seconds);
    EXPECT_NE(error.find("instruction limit exceeded"), std::string::npos) << error;
    EXPECT_LT(seconds, 1.0);
    expect_still_serves(*e);
    auto small = engine("local t = table.move({1, 2, 3}, 1, 3, 2); assert(t[4] == 3) error('moved')");
    EXPECT_NE(run_bad(*small, seconds).find("moved"), std::string::npos);
}

}  // namespace
}  // namespace scepter
