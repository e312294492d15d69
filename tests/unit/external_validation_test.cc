// The external validation client against a real (tiny) HTTP server on
// 127.0.0.1: answers, refusals, retries, timeouts, and the exact bodies of
// the Intune-shaped requests and notifications.
#include "integrations/external_validation.h"
#include "test_http_server.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

namespace scepter {
namespace {

using Clock = std::chrono::steady_clock;

long elapsed_ms(Clock::time_point since) {
    return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

using test::TestServer;

using Action = TestServer::Action;

const std::vector<unsigned char> kCsr{0x30, 0x03, 0x02, 0x01, 0x00};  // base64: MAMCAQA=

ExternalValidationConfig config_for(const TestServer& server, int timeout_ms = 3000, int retries = 2) {
    ExternalValidationConfig cfg;
    cfg.validate_url = server.url("/ScepActions/validateRequest");
    cfg.success_url = server.url("/ScepActions/successNotification");
    cfg.failure_url = server.url("/ScepActions/failureNotification");
    cfg.timeout_ms = timeout_ms;
    cfg.retries = retries;
    cfg.caller_info = "Scepter-test/1.0";
    cfg.headers = {"Authorization: Bearer t0ken", "api-version: 2018-02-20"};
    return cfg;
}

// A port nobody listens on: bound, then closed.
int closed_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

TEST(ExternalValidation, SuccessIsOkAndTheRequestIsIntunes) {
    TestServer server;
    server.script({{Action::Respond, 200, R"({"code":"Success","errorDescription":""})"}});
    ExternalValidator v(config_for(server));
    ValidationOutcome out = v.validate("TX-1", kCsr);
    EXPECT_TRUE(out.ok);
    EXPECT_EQ(out.code, "Success");
    EXPECT_EQ(out.description, "");

    auto got = server.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].method, "POST");
    EXPECT_EQ(got[0].path, "/ScepActions/validateRequest");
    EXPECT_EQ(got[0].body,
              R"({"request":{"transactionId":"TX-1","certificateRequest":"MAMCAQA=","callerInfo":"Scepter-test/1.0"}})");
    EXPECT_EQ(got[0].headers["content-type"], "application/json");
    EXPECT_EQ(got[0].headers["authorization"], "Bearer t0ken");
    EXPECT_EQ(got[0].headers["api-version"], "2018-02-20");
    EXPECT_EQ(got[0].headers["user-agent"], "Scepter-test/1.0");
    EXPECT_EQ(got[0].headers["client-request-id"].size(), 36u);
    EXPECT_EQ(got[0].headers["client-request-id"][14], '4');
    EXPECT_EQ(got[0].headers.count("expect"), 0u);
}

TEST(ExternalValidation, ADenialCarriesItsCode) {
    TestServer server;
    server.script({{Action::Respond, 200, R"({"code":"ChallengeExpired","errorDescription":"The challenge expired."})"},
                   {Action::Respond, 200, R"({"code":"SubjectNameMismatch","errorDescription":null})"}});
    ExternalValidator v(config_for(server));
    ValidationOutcome out = v.validate("TX-2", kCsr);
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.code, "ChallengeExpired");
    EXPECT_EQ(out.description, "The challenge expired.");
    out = v.validate("TX-2b", kCsr);
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.code, "SubjectNameMismatch");
    EXPECT_EQ(out.description, "");
    EXPECT_EQ(server.received().size(), 2u);  // a definite answer is never retried
}

TEST(ExternalValidation, A500IsRetried) {
    TestServer server;
    server.script({{Action::Respond, 500, "oops"}, {Action::Respond, 200, R"({"code":"Success"})"}});
    ExternalValidator v(config_for(server));
    ValidationOutcome out = v.validate("TX-3", kCsr);
    EXPECT_TRUE(out.ok) << out.code << ": " << out.description;
    auto got = server.received();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].body, got[1].body);
}

TEST(ExternalValidation, Persistent500sAndClosedConnectionsAreServiceUnavailable) {
    TestServer server;
    server.script({}, {Action::Respond, 503, "busy"});
    ExternalValidator v(config_for(server));
    ValidationOutcome out = v.validate("TX-4", kCsr);
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.code, "ServiceUnavailable");
    EXPECT_NE(out.description.find("HTTP 503"), std::string::npos) << out.description;
    EXPECT_NE(out.description.find("3 attempts"), std::string::npos) << out.description;
    EXPECT_EQ(server.received().size(), 3u);  // 1 + retries

    TestServer closer;
    closer.script({}, {Action::Close, 0, ""});
    ExternalValidator w(config_for(closer, 3000, 1));
    out = w.validate("TX-4b", kCsr);
    EXPECT_EQ(out.code, "ServiceUnavailable");
    EXPECT_EQ(closer.received().size(), 2u);
}

TEST(ExternalValidation, OtherStatusesAndGarbageAreBadResponses) {
    TestServer server;
    server.script({{Action::Respond, 401, R"({"error":"invalid_token"})"},
                   {Action::Respond, 302, ""},
                   {Action::Respond, 200, "Success"},
                   {Action::Respond, 200, R"({"code":{"value":"Success"}})"},
                   {Action::Respond, 200, R"({"errorDescription":"no code"})"},
                   {Action::Respond, 200, R"({"code":"Success","code":"Denied"})"},
                   {Action::Respond, 200, ""},
                   {Action::Respond, 200, R"({"code":"Success"} trailing)"},
                   {Action::Respond, 200, "{\"code\":\"Success\",\"pad\":\"" + std::string(70000, 'x') + "\"}"}});
    ExternalValidator v(config_for(server));
    for (int i = 0; i < 9; ++i) {
        ValidationOutcome out = v.validate("TX-5", kCsr);
        EXPECT_FALSE(out.ok) << i;
        EXPECT_EQ(out.code, "BadResponse") << i << ": " << out.description;
        EXPECT_FALSE(out.description.empty());
    }
    EXPECT_EQ(server.received().size(), 9u);  // none retried
}

TEST(ExternalValidation, AnUnreachableServiceFailsWithinTheTimeout) {
    ExternalValidationConfig cfg;
    cfg.validate_url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/validate";
    cfg.timeout_ms = 1000;
    cfg.retries = 2;
    ExternalValidator v(cfg);
    auto start = Clock::now();
    ValidationOutcome out = v.validate("TX-6", kCsr);
    long ms = elapsed_ms(start);
    std::cout << "[ timing   ] unreachable, timeout 1000 ms, 2 retries: " << ms << " ms\n";
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.code, "ServiceUnavailable");
    EXPECT_NE(out.description.find("3 attempts"), std::string::npos) << out.description;
    EXPECT_LT(ms, 1000 + 250);
}

TEST(ExternalValidation, AHangingServiceTimesOut) {
    TestServer server;
    server.script({}, {Action::Hang, 0, ""});
    ExternalValidator v(config_for(server, 500, 2));
    auto start = Clock::now();
    ValidationOutcome out = v.validate("TX-7", kCsr);
    long ms = elapsed_ms(start);
    std::cout << "[ timing   ] hanging server, timeout 500 ms, 2 retries: " << ms << " ms\n";
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.code, "ServiceUnavailable");
    EXPECT_NE(out.description.find("timed out"), std::string::npos) << out.description;
    EXPECT_GE(ms, 450);
    EXPECT_LT(ms, 500 + 250);
    // The timeout is for the whole call: no retry fits after the first attempt used it up.
    EXPECT_EQ(server.received().size(), 1u);

    // The notifications are held to the same bound.
    start = Clock::now();
    EXPECT_THROW(v.notify_success("TX-7", kCsr, "ab", "01", 0, "CA"), std::runtime_error);
    ms = elapsed_ms(start);
    std::cout << "[ timing   ] hanging server, success notification: " << ms << " ms\n";
    EXPECT_LT(ms, 500 + 250);
}

TEST(ExternalValidation, ALargeCsrGoesOutWithoutDelay) {
    TestServer server;
    server.script({}, {Action::Respond, 200, R"({"code":"Success"})"});
    ExternalValidator v(config_for(server));
    std::vector<unsigned char> big(6000, 0x41);
    auto start = Clock::now();
    EXPECT_TRUE(v.validate("TX-8", big).ok);
    long ms = elapsed_ms(start);
    EXPECT_LT(ms, 500);  // no "Expect: 100-continue" wait
    auto got = server.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].body.size(), validation_request_body("TX-8", big, "Scepter-test/1.0").size());
}

TEST(ExternalValidation, SuccessNotificationBody) {
    TestServer server;
    server.script({}, {Action::Respond, 200, R"({"code":"Success","errorDescription":""})"});
    ExternalValidator v(config_for(server));
    v.notify_success("TX-9", kCsr, "0123456789abcdef0123456789abcdef01234567", "7f3a", 1795588200,
                     "CN=Scepter Demo CA");
    auto got = server.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].path, "/ScepActions/successNotification");
    EXPECT_EQ(got[0].body,
              "{\"notification\":{\"transactionId\":\"TX-9\",\"certificateRequest\":\"MAMCAQA=\","
              "\"certificateThumbprint\":\"0123456789abcdef0123456789abcdef01234567\","
              "\"certificateSerialNumber\":\"7f3a\","
              "\"certificateExpirationDateUtc\":\"2026-11-25T06:30:00.000Z\","
              "\"issuingCertificateAuthority\":\"CN=Scepter Demo CA\","
              "\"callerInfo\":\"Scepter-test/1.0\"}}");
    EXPECT_EQ(got[0].headers["authorization"], "Bearer t0ken");
}

TEST(ExternalValidation, FailureNotificationBody) {
    TestServer server;
    server.script({}, {Action::Respond, 200, ""});
    ExternalValidator v(config_for(server));
    v.notify_failure("TX-\"10\"", kCsr, 0x80070005u, "Access is denied.");
    v.notify_failure("TX-11", kCsr, 1, std::string(300, 'd'));
    v.notify_failure("TX-12", kCsr, 1, std::string(254, 'd') + "\xC3\xA9");  // é would end at byte 256
    auto got = server.received();
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].path, "/ScepActions/failureNotification");
    EXPECT_EQ(got[0].body,
              "{\"notification\":{\"transactionId\":\"TX-\\\"10\\\"\",\"certificateRequest\":\"MAMCAQA=\","
              "\"hResult\":2147942405,\"errorDescription\":\"Access is denied.\","
              "\"callerInfo\":\"Scepter-test/1.0\"}}");
    EXPECT_NE(got[1].body.find("\"errorDescription\":\"" + std::string(255, 'd') + "\""), std::string::npos);
    EXPECT_NE(got[2].body.find("\"errorDescription\":\"" + std::string(254, 'd') + "\""), std::string::npos);
}

TEST(ExternalValidation, NotificationsThrowUnlessReceived) {
    TestServer server;
    server.script({{Action::Respond, 500, "down"},
                   {Action::Respond, 500, "down"},
                   {Action::Respond, 500, "down"},
                   {Action::Respond, 200, R"({"code":"Unknown","errorDescription":"no such transaction"})"},
                   {Action::Respond, 404, ""},
                   {Action::Respond, 200, R"({"code":"Success"})"},
                   {Action::Respond, 204, ""},
                   {Action::Respond, 200, "OK"}});
    ExternalValidator v(config_for(server));
    try {
        v.notify_success("TX-13", kCsr, "ab", "01", 0, "CA");
        ADD_FAILURE() << "a 500 must throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("HTTP 500"), std::string::npos) << e.what();
    }
    EXPECT_EQ(server.received().size(), 3u);  // retried twice first
    try {
        v.notify_success("TX-13", kCsr, "ab", "01", 0, "CA");
        ADD_FAILURE() << "a refusal must throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("Unknown: no such transaction"), std::string::npos) << e.what();
    }
    EXPECT_THROW(v.notify_failure("TX-13", kCsr, 1, "x"), std::runtime_error);  // 404
    EXPECT_NO_THROW(v.notify_success("TX-13", kCsr, "ab", "01", 0, "CA"));   // {"code":"Success"}
    EXPECT_NO_THROW(v.notify_failure("TX-13", kCsr, 1, "x"));                // 204
    EXPECT_NO_THROW(v.notify_failure("TX-13", kCsr, 1, "x"));                // 200 text
    EXPECT_EQ(server.received().size(), 8u);
}

TEST(ExternalValidation, UnreachableNotificationThrowsWithinTheTimeout) {
    ExternalValidationConfig cfg;
    cfg.success_url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/notify";
    cfg.timeout_ms = 800;
    ExternalValidator v(cfg);
    auto start = Clock::now();
    EXPECT_THROW(v.notify_success("TX-14", kCsr, "ab", "01", 0, "CA"), std::runtime_error);
    EXPECT_LT(elapsed_ms(start), 800 + 250);
}

TEST(ExternalValidation, UnsetUrls) {
    ExternalValidator v(ExternalValidationConfig{});
    ValidationOutcome out = v.validate("TX-15", kCsr);
    EXPECT_FALSE(out.ok);  // fails closed
    EXPECT_EQ(out.code, "ServiceUnavailable");
    EXPECT_NO_THROW(v.notify_success("TX-15", kCsr, "ab", "01", 0, "CA"));
    EXPECT_NO_THROW(v.notify_failure("TX-15", kCsr, 1, "x"));
}

TEST(ExternalValidation, RefusesBadConfiguration) {
    auto with = [](auto change) {
        ExternalValidationConfig cfg;
        cfg.validate_url = "https://example.invalid/validate";
        change(cfg);
        return cfg;
    };
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.validate_url = "ftp://x/"; })), std::invalid_argument);
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.success_url = "file:///etc/passwd"; })), std::invalid_argument);
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.failure_url = "http://x/a b"; })), std::invalid_argument);
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.timeout_ms = 0; })), std::invalid_argument);
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.retries = -1; })), std::invalid_argument);
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.retries = 11; })), std::invalid_argument);
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.headers = {"NoColon"}; })), std::invalid_argument);
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.headers = {"X: a\r\nInjected: b"}; })),
                 std::invalid_argument);
    EXPECT_THROW(ExternalValidator(with([](auto& c) { c.caller_info = "a\nb"; })), std::invalid_argument);
    EXPECT_NO_THROW(ExternalValidator(with([](auto&) {})));
}

TEST(ExternalValidation, SecretsStayOutOfMessages) {
    ExternalValidationConfig cfg;
    cfg.validate_url = "http://user:secret@127.0.0.1:" + std::to_string(closed_port()) + "/v?code=secret2";
    cfg.timeout_ms = 500;
    cfg.retries = 0;
    ValidationOutcome out = ExternalValidator(cfg).validate("TX-16", kCsr);
    EXPECT_EQ(out.description.find("secret"), std::string::npos) << out.description;
    EXPECT_NE(out.description.find("POST http://127.0.0.1:"), std::string::npos) << out.description;
}

TEST(ExternalValidation, ConcurrentCalls) {
    TestServer server;
    server.script({}, {Action::Respond, 200, R"({"code":"Success"})"});
    ExternalValidator v(config_for(server));
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 5; ++i) ok += v.validate("TX-" + std::to_string(t), kCsr).ok ? 1 : 0;
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(ok.load(), 40);
    EXPECT_EQ(server.received().size(), 40u);
}

}  // namespace
}  // namespace scepter
