// The Intune pieces that need no network: the client assertion (a JWT that
// OpenSSL verifies with the certificate's key), Graph's endpoint map, and
// the `intune:` configuration block.
#include "admin/intune_revocation_sync.h"
#include "config/config_intune.h"
#include "integrations/external_validation.h"
#include "integrations/intune/client_assertion.h"
#include "integrations/intune/json_tree.h"
#include "integrations/intune/token_client.h"
#include "test_http_server.h"
#include "scepter/text.h"
#include "test_keys.h"
#include "util/json_flat.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

namespace scepter {
namespace {

std::string b64url_decode(std::string s) {
    for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (s.size() % 4) s += '=';
    auto bytes = base64_decode(s);
    return bytes ? std::string(bytes->begin(), bytes->end()) : "";
}

std::vector<std::string> split3(const std::string& jwt) {
    auto a = jwt.find('.'), b = jwt.find('.', a + 1);
    return {jwt.substr(0, a), jwt.substr(a + 1, b - a - 1), jwt.substr(b + 1)};
}

TEST(IntuneAssertion, SignedWithTheKeyAndNamingTheTokenEndpoint) {
    ossl::PKey key = test::rsa_key();
    ossl::X509Ptr cert = test::self_signed(key.get(), "app");
    std::string jwt = client_assertion(cert.get(), key.get(), "client-1", "https://login.example/t/oauth2/v2.0/token",
                                       1700000000);
    auto parts = split3(jwt);
    FlatJsonObject head = parse_flat_json(b64url_decode(parts[0]));
    FlatJsonObject claims = parse_flat_json(b64url_decode(parts[1]));
    EXPECT_EQ(head["alg"].text, "RS256");
    unsigned char sha1[20];
    unsigned int n = 0;
    X509_digest(cert.get(), EVP_sha1(), sha1, &n);
    EXPECT_EQ(head["x5t"].text, base64url(std::string(reinterpret_cast<char*>(sha1), n)));
    EXPECT_EQ(claims["aud"].text, "https://login.example/t/oauth2/v2.0/token");
    EXPECT_EQ(claims["iss"].text, "client-1");
    EXPECT_EQ(claims["sub"].text, "client-1");
    EXPECT_EQ(claims["exp"].text, "1700000600");
    EXPECT_EQ(claims["jti"].text.size(), 36u);
    std::string input = parts[0] + "." + parts[1], sig = b64url_decode(parts[2]);
    ossl::MdCtx ctx(EVP_MD_CTX_new());
    ASSERT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
    EXPECT_EQ(EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                               reinterpret_cast<const unsigned char*>(input.data()), input.size()),
              1);
    EXPECT_NE(split3(client_assertion(cert.get(), key.get(), "client-1", "a", 1))[1], parts[1]);  // a new jti
    EXPECT_EQ(jwt.find('='), std::string::npos);
}

TEST(IntuneDiscovery, EndpointsAreKeyedWithoutRegardToCase) {
    auto m = json_endpoint_map(
        R"({"@odata.context":"x","value":[{"id":"1","providerName":"scepRequestValidationFEService",)"
        R"("uri":"https://fef.example/ScepValidation"},{"providerName":"PkiConnectorFEService","uri":"https://p"},)"
        R"({"providerName":"Other","uri":null}]})");
    EXPECT_EQ(m.at("sceprequestvalidationfeservice"), "https://fef.example/ScepValidation");
    EXPECT_EQ(m.at("pkiconnectorfeservice"), "https://p");
    EXPECT_THROW(json_endpoint_map("{\"value\": 3}"), std::runtime_error);
    EXPECT_THROW(json_endpoint_map("<html>"), std::runtime_error);
    EXPECT_EQ(json_top_string(R"({"error":"invalid_client","error_codes":[7000215]})", "error").value(),
              "invalid_client");
    EXPECT_FALSE(json_top_string("plain text", "error"));
}

using test::TestServer;

TokenClient secret_client(const TestServer& server, HttpClient& http) {
    TokenCredentials c;
    c.token_url = server.url("/t1/oauth2/v2.0/token");
    c.client_id = "c1";
    c.client_secret = "S3cret/+&=";
    return TokenClient(std::move(c), http, HttpOptions{3000, 0, "Scepter-test", ""});
}

// Eight threads that want a token at once cause one request; the token is
// cached until forgotten (a 401), then fetched once more.
TEST(IntuneToken, OneFetchForConcurrentCallersAndAgainAfterForget) {
    TestServer server;
    server.script({}, {TestServer::Action::Respond, 200,
                       R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"tok-A"})"});
    HttpClient http;
    TokenClient tokens = secret_client(server, http);
    std::vector<std::thread> threads;
    std::mutex mu;
    std::set<std::string> got;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&] {
            std::string t = tokens.token("https://api.manage.microsoft.com//.default");
            std::lock_guard<std::mutex> lock(mu);
            got.insert(t);
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(got, std::set<std::string>{"tok-A"});
    auto sent = server.received();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].path, "/t1/oauth2/v2.0/token");
    EXPECT_EQ(sent[0].headers["content-type"], "application/x-www-form-urlencoded");
    EXPECT_EQ(sent[0].body, "grant_type=client_credentials&client_id=c1&scope=https%3A%2F%2Fapi.manage.microsoft.com"
                            "%2F%2F.default&client_secret=S3cret%2F%2B%26%3D");
    tokens.forget("https://api.manage.microsoft.com//.default");
    tokens.token("https://api.manage.microsoft.com//.default");
    EXPECT_EQ(server.received().size(), 2u);
}

TEST(IntuneToken, ARefusalNamesEntrasErrorAndNeverTheSecret) {
    TestServer server;
    server.script({}, {TestServer::Action::Respond, 401,
                       R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.",)"
                       R"("error_codes":[7000215]})"});
    HttpClient http;
    TokenClient tokens = secret_client(server, http);
    try {
        tokens.token("x/.default");
        FAIL() << "no TargetError";
    } catch (const TargetError& e) {
        EXPECT_EQ(e.code(), "IntuneTokenRefused");
        EXPECT_NE(e.why().find("HTTP 401: invalid_client: AADSTS7000215"), std::string::npos) << e.why();
        EXPECT_EQ(std::string(e.what()).find("S3cret"), std::string::npos);
    }
    server.script({}, {TestServer::Action::Respond, 503, "busy"});
    try {
        tokens.token("x/.default");
        FAIL() << "no TargetError";
    } catch (const TargetError& e) {
        EXPECT_EQ(e.code(), "IntuneTokenUnavailable");
    }
    server.script({}, {TestServer::Action::Respond, 200, R"({"token_type":"Bearer","access_token":"t"})"});
    EXPECT_THROW(tokens.token("x/.default"), TargetError);  // no expires_in
}

class IntuneConfig : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-intune-XXXXXX";
        dir_ = mkdtemp(tmpl);
        for (const char* f : {"ca.pem", "ca.key", "app.pem", "app.key"}) std::ofstream(dir_ + "/" + f) << "x";
        std::ofstream(dir_ + "/secret") << "TopSecretValue\n";
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

    std::string error_of(const std::string& block, Config* out = nullptr) {
        std::string path = dir_ + "/scepter.yaml";
        std::ofstream(path) << "store: {sqlite: db}\nca: {cert: ca.pem, key: ca.key}\n"
                               "templates:\n  t: {key_usage: [digitalSignature]}\n"
                               "profiles:\n  p:\n    template: t\n    intune:\n" + block;
        try {
            Config c = load_config(path);
            if (out) *out = c;
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "no error";
    }
    std::string dir_;
};

TEST_F(IntuneConfig, DefaultsArePublicCloudAndTheSecretIsReadFromItsFile) {
    Config c;
    ASSERT_EQ(error_of("      tenant: contoso.onmicrosoft.com\n      client_id: abc-1\n      client_secret_file: secret\n",
                       &c),
              "no error");
    const IntuneSettings& t = *c.profiles.at("p").intune;
    EXPECT_EQ(t.authority, "https://login.microsoftonline.com");
    EXPECT_EQ(t.graph, "https://graph.microsoft.com");
    EXPECT_EQ(t.resource, "https://api.manage.microsoft.com/");
    EXPECT_EQ(t.api_version, "2018-02-20");
    EXPECT_EQ(t.client_secret, "TopSecretValue");
    EXPECT_EQ(t.revocation_poll_seconds, 300);
    EXPECT_EQ(t.revocation_max_requests, 100);
    EXPECT_EQ(t.revocation_api_version, "5019-05-05");
}

TEST_F(IntuneConfig, RevocationSyncKeysAreBounded) {
    std::string head = "      tenant: t1\n      client_id: c1\n      client_secret_file: secret\n";
    Config c;
    ASSERT_EQ(error_of(head + "      revocation_poll_seconds: 0\n      revocation_max_requests: 500\n", &c), "no error");
    EXPECT_EQ(c.profiles.at("p").intune->revocation_poll_seconds, 0);  // 0: no revocation sync
    EXPECT_EQ(c.profiles.at("p").intune->revocation_max_requests, 500);
    EXPECT_NE(error_of(head + "      revocation_poll_seconds: -1\n").find("revocation_poll_seconds"),
              std::string::npos);
    EXPECT_NE(error_of(head + "      revocation_max_requests: 501\n").find("revocation_max_requests"),
              std::string::npos);
    EXPECT_NE(error_of(head + "      revocation_max_requests: 0\n").find("revocation_max_requests"),
              std::string::npos);
}

TEST(IntuneRevocation, BodiesAreTheContractsShapes) {
    EXPECT_EQ(revocation_download_body(100, "/CN=Scepter CA/O=Example"),
              R"({"downloadParameters":{"maxRequests":100,"issuerName":"/CN=Scepter CA/O=Example"}})");
    RevocationResult ok{"ctx-1", "7F01", true, "None", "revoked", "tx"};
    RevocationResult missing{"ctx-\"2", "ABCD", false, "CertificateNotFoundError", "no such serial", ""};
    EXPECT_EQ(revocation_upload_body({ok, missing}),
              R"({"results":[{"requestContext":"ctx-1","succeeded":true,"errorCode":"None","errorMessage":"revoked"},)"
              R"({"requestContext":"ctx-\"2","succeeded":false,"errorCode":"CertificateNotFoundError",)"
              R"("errorMessage":"no such serial"}]})");
}

TEST(IntuneRevocation, DownloadedRequestsAreReadFromTheValueArray) {
    auto v = json_value_objects(
        R"({"value":[{"requestContext":"c1","serialNumber":"0A1B","issuerName":"/CN=CA","caConfiguration":null},)"
        R"(7,{"requestContext":"c2","serialNumber":"FF","extra":{"nested":1}}]})");
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].at("serialNumber"), "0A1B");
    EXPECT_EQ(v[0].at("issuerName"), "/CN=CA");
    EXPECT_EQ(v[1].at("requestContext"), "c2");
    EXPECT_EQ(v[1].count("extra"), 0u);
    EXPECT_TRUE(json_value_objects(R"({"value":[]})").empty());
    EXPECT_THROW(json_value_objects(R"({"error":"x"})"), std::runtime_error);
    EXPECT_THROW(json_value_objects("not json"), std::runtime_error);
}

TEST_F(IntuneConfig, MistakesAreNamedAndSecretsNeverEchoed) {
    std::string head = "      tenant: t1\n      client_id: c1\n";
    std::string e = error_of(head + "      client_secret: Inline-Value-42\n");
    EXPECT_NE(e.find("profiles.p.intune.client_secret"), std::string::npos) << e;
    EXPECT_EQ(e.find("Inline-Value-42"), std::string::npos) << e;
    EXPECT_NE(error_of(head).find("either client_secret_file or client_certificate"), std::string::npos);
    EXPECT_NE(error_of(head + "      client_secret_file: secret\n      client_certificate: app.pem\n"
                              "      client_key: app.key\n").find("either"), std::string::npos);
    EXPECT_NE(error_of(head + "      client_certificate: app.pem\n").find("needs client_key"), std::string::npos);
    EXPECT_NE(error_of(head + "      client_secret_file: secret\n      authority: http://login.example\n")
                  .find("intune.authority': must be an https:// URL"), std::string::npos);
    EXPECT_NE(error_of("      tenant: a/b\n      client_id: c1\n      client_secret_file: secret\n")
                  .find("intune.tenant'"), std::string::npos);
}

}  // namespace
}  // namespace scepter
