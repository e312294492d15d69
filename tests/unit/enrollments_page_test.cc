// The enrollments page through the core's one entry point: deferred to a
// thread, refused without authentication, every trail value escaped, a
// location bound to a profile showing that profile only.
#include "service/service.h"

#include "../../cli/demo_pki.h"
#include "scepter/text.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

namespace scepter {
namespace {

std::string line(const std::string& tx, const std::string& profile, const std::string& step, bool ok,
                 const std::string& extra = "") {
    return "{\"time\":\"" + iso8601_utc_now_millis() + "\",\"id\":\"SCP2003\",\"step\":\"" + step +
           "\",\"outcome\":\"" + (ok ? "ok" : "failed") + "\",\"transaction_id\":" + json_quote(tx) +
           ",\"profile\":\"" + profile +
           "\",\"operation\":\"PKIOperation\",\"message_type\":\"PKCSReq\",\"client_ip\":\"192.0.2.9\","
           "\"user_agent\":\"Dalvik/2.1.0\",\"client_os\":\"Android\"" +
           extra + "}\n";
}

class EnrollmentsPage : public ::testing::Test {
   protected:
    static void SetUpTestSuite() {
        char tmpl[] = "/tmp/scepter-page-XXXXXX";
        dir_ = mkdtemp(tmpl);
        auto pki = cli::write_demo_pki({dir_ + "/pki"});
        service_ = Service::load(pki.config_path).release();
        std::ofstream(service_->audit_log_path(), std::ios::app)
            << line("tx-<script>alert(1)</script>", "default", "message_parsed", true,
                    ",\"subject\":\"CN=<b>bold</b> & co\"")
            << line("tx-<script>alert(1)</script>", "default", "challenge_password", false,
                    ",\"detail\":\"ChallengePasswordMismatch: the challenge password is not valid\"")
            << line("tx-legacy", "legacy", "message_parsed", true, ",\"subject\":\"CN=legacy-device\"")
            << line("tx-legacy", "legacy", "response_sent", true, ",\"pki_status\":\"SUCCESS\"");
    }
    static void TearDownTestSuite() {
        delete service_;
        std::system(("rm -rf " + dir_).c_str());
    }

    static std::optional<Response> get(const std::string& query, const std::string& profile = "",
                                       const std::string& user = "admin", bool blocking = true) {
        Request r{"GET", "/admin/enrollments", query, "", "127.0.0.1", "", profile, "enrollments", user, "",
                  nullptr, 0};
        return service_->handle(r, blocking);
    }
    static std::string body(const Response& r) { return std::string(r.body.begin(), r.body.end()); }

    static std::string dir_;
    static Service* service_;
};

std::string EnrollmentsPage::dir_;
Service* EnrollmentsPage::service_ = nullptr;

TEST_F(EnrollmentsPage, ReadsTheTrailOnlyWhereItMayBlock) {
    EXPECT_FALSE(get("", "", "admin", false).has_value());  // nginx: to the thread pool
}

TEST_F(EnrollmentsPage, RefusesWhatNobodyAuthenticated) {
    auto r = get("", "", "");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
}

TEST_F(EnrollmentsPage, ListsEveryProfileWithEverythingEscaped) {
    auto r = get("");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
    std::string html = body(*r);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("<b>bold"), std::string::npos);
    EXPECT_NE(html.find("CN=&lt;b&gt;bold&lt;/b&gt; &amp; co"), std::string::npos) << html;
    EXPECT_NE(html.find("?tx=tx-%3Cscript%3Ealert%281%29%3C%2Fscript%3E"), std::string::npos) << html;
    EXPECT_NE(html.find("CN=legacy-device"), std::string::npos);
    EXPECT_NE(html.find(">issued<"), std::string::npos);
    EXPECT_NE(html.find(">failed<"), std::string::npos);
}

TEST_F(EnrollmentsPage, FailuresOnly) {
    std::string html = body(*get("failed=1"));
    EXPECT_NE(html.find("challenge_password"), std::string::npos);
    EXPECT_EQ(html.find("CN=legacy-device"), std::string::npos);
}

TEST_F(EnrollmentsPage, OneTransactionWithItsHint) {
    auto r = get("tx=tx-%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    std::string html = body(*r);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_NE(html.find("<tr class=\"fail\">"), std::string::npos) << html;
    EXPECT_NE(html.find("Hint (ChallengePasswordMismatch)"), std::string::npos) << html;
}

TEST_F(EnrollmentsPage, ALocationBoundToAProfileShowsThatProfileOnly) {
    std::string html = body(*get("", "legacy"));
    EXPECT_NE(html.find("CN=legacy-device"), std::string::npos);
    EXPECT_EQ(html.find("&lt;b&gt;bold"), std::string::npos);
    auto other = get("tx=tx-%3Cscript%3Ealert(1)%3C%2Fscript%3E", "legacy");
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 404);
}

}  // namespace
}  // namespace scepter
