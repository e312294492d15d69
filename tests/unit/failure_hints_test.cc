// The hint table: every failure the enrollment steps can report has a hint,
// the table and docs/TROUBLESHOOTING.md say the same, and failures group by
// a stable reason.
#include "scepter/audit_trail.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace scepter {
namespace {

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(FailureHints, EveryRowIsComplete) {
    for (const FailureHint& h : failure_hints()) {
        EXPECT_NE(std::string(h.key), "");
        EXPECT_GT(std::string(h.cause).size(), 20u) << h.key;
        EXPECT_GT(std::string(h.check).size(), 20u) << h.key;
        EXPECT_EQ(std::string(h.cause).find('|'), std::string::npos) << h.key;  // Markdown table cells
        EXPECT_EQ(std::string(h.check).find('|'), std::string::npos) << h.key;
        EXPECT_FALSE(h.step[0] == '\0' && h.match[0] == '\0') << h.key << " would catch every failure";
    }
}

// The doc carries the table (`scepter trace --hints`) word for word.
TEST(FailureHints, TheTroubleshootingPageSaysTheSame) {
    std::string doc = read_file(std::filesystem::path(SCEPTER_SOURCE_DIR) / "docs" / "TROUBLESHOOTING.md");
    ASSERT_FALSE(doc.empty());
    for (const FailureHint& h : failure_hints()) {
        EXPECT_NE(doc.find("`" + std::string(h.key) + "`"), std::string::npos) << h.key;
        EXPECT_NE(doc.find(h.cause), std::string::npos) << h.key << ": " << h.cause;
        EXPECT_NE(doc.find(h.check), std::string::npos) << h.key << ": " << h.check;
    }
}

// Every step name the hints name is one the code writes.
TEST(FailureHints, StepsAreRealSteps) {
    std::string code;
    for (const auto& f : std::filesystem::recursive_directory_iterator(std::filesystem::path(SCEPTER_SOURCE_DIR) /
                                                                         "core" / "src"))
        if (f.path().extension() == ".cc") code += read_file(f.path());
    for (const FailureHint& h : failure_hints()) {
        if (h.step[0] == '\0') continue;
        EXPECT_NE(code.find("\"" + std::string(h.step) + "\""), std::string::npos) << h.step;
    }
}

// Every failInfoText code the steps throw ("Code: text") has its own hint.
TEST(FailureHints, EveryCodeTheStepsThrowHasAHint) {
    std::set<std::string> codes;
    std::regex thrown("\"([A-Z][A-Za-z]+|store_unavailable): ");
    for (const char* dir : {"enrollment", "challenge"}) {
        for (const auto& f : std::filesystem::directory_iterator(std::filesystem::path(SCEPTER_SOURCE_DIR) / "core" /
                                                                 "src" / dir)) {
            if (f.path().extension() != ".cc") continue;  // headers only describe the format
            std::string text = read_file(f.path());
            for (std::sregex_iterator it(text.begin(), text.end(), thrown), end; it != end; ++it)
                codes.insert((*it)[1]);
        }
    }
    EXPECT_GE(codes.size(), 15u);
    for (const std::string& code : codes) {
        if (code == "ServiceUnavailable" || code == "BadResponse") continue;  // external_validation's rows
        const FailureHint* h = find_failure_hint("any_step", code + ": x");
        ASSERT_NE(h, nullptr) << code;
        EXPECT_EQ(std::string(h->key), code);
    }
}

TEST(FailureHints, WhatAnAdminMeetsMost) {
    const FailureHint* h = find_failure_hint(
        "envelope_decrypted", "the envelope cannot be decrypted with our RA key (error:1C800064:Provider routines::bad decrypt)");
    ASSERT_NE(h, nullptr);
    EXPECT_STREQ(h->key, "DecryptFailed");
    EXPECT_NE(std::string(h->cause).find("stale GetCACert"), std::string::npos);

    h = find_failure_hint("challenge_lookup", "ChallengeExpired: the challenge has expired");
    ASSERT_NE(h, nullptr);
    EXPECT_NE(std::string(h->cause).find("after the challenge's lifetime"), std::string::npos);

    h = find_failure_hint("message_parsed", "the message signature does not verify");
    ASSERT_NE(h, nullptr);
    EXPECT_STREQ(h->key, "SignatureInvalid");

    h = find_failure_hint("cert_issued", "template 'strict' needs RSA keys of at least 3072 bits; the CSR has 2048");
    ASSERT_NE(h, nullptr);
    EXPECT_STREQ(h->key, "KeyTooSmall");

    h = find_failure_hint("external_validation", "ServiceUnavailable: POST http://x/validate: connection refused");
    ASSERT_NE(h, nullptr);
    EXPECT_STREQ(h->key, "ValidationServiceUnavailable");
    h = find_failure_hint("external_validation", "DeviceNotCompliant: no");
    ASSERT_NE(h, nullptr);
    EXPECT_STREQ(h->key, "ValidationDenied");

    h = find_failure_hint("csr_checked", "the CSR's EC curve secp224r1 is not certified (P-256, P-384, P-521)");
    ASSERT_NE(h, nullptr);
    EXPECT_STREQ(h->key, "KeyNotCertified");
    // Our own failures win over a step's catch-all.
    EXPECT_STREQ(find_failure_hint("csr_checked", "internal error: out of memory")->key, "InternalError");
    EXPECT_STREQ(find_failure_hint("message_parsed", "store_unavailable: the certificate store cannot be written")->key,
                 "store_unavailable");
    EXPECT_EQ(find_failure_hint("some_new_step", "something new"), nullptr);
}

TEST(FailureHints, Reasons) {
    EXPECT_EQ(failure_reason("challenge_lookup", "ChallengeExpired: the challenge has expired"), "ChallengeExpired");
    EXPECT_EQ(failure_reason("new_step", "SomeCode: text"), "SomeCode");
    EXPECT_EQ(failure_reason("new_step", "short text"), "short text");
    std::string long_text(100, 'z');
    EXPECT_EQ(failure_reason("new_step", long_text), std::string(60, 'z') + "...");
}

TEST(FailureHints, WhatCountsAsAFailure) {
    AuditEntry e;
    e.step = "challenge_lookup";
    e.outcome = "failed";
    EXPECT_TRUE(is_failure(e));
    e.step = "response_sent";
    e.outcome = "ok";
    e.extra = {{"pki_status", "FAILURE"}};
    EXPECT_FALSE(is_failure(e));  // the answer to a failed step, counted there
    e.detail = "the store could not be opened";
    EXPECT_TRUE(is_failure(e));   // the worker was not ready: no failed step before it
    e.extra = {{"pki_status", "SUCCESS"}};
    EXPECT_FALSE(is_failure(e));
}

}  // namespace
}  // namespace scepter
