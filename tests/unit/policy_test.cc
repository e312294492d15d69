// The Lua policy engine: compile errors with file and line, decisions,
// the shipped policies, the sandbox, the limits, concurrency, the CLI.
#include "../../cli/cli.h"
#include "ca/csr.h"
#include "policy/policy.h"
#include "policy/policy_request.h"
#include "scepter/config.h"
#include "scepter/der.h"
#include "test_keys.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace scepter {
namespace {

const std::string kPolicies = std::string(SCEPTER_SOURCE_DIR) + "/policies";
using Verdict = PolicyDecision::Verdict;

class PolicyTest : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-policy-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

    std::string write(const std::string& lua, const std::string& name = "p.lua") {
        std::string path = dir_ + "/" + name;
        std::ofstream(path) << lua;
        return path;
    }
    std::unique_ptr<PolicyEngine> engine(const std::string& lua, const PolicyLimits& limits = {}) {
        return PolicyEngine::compile(write(lua), limits);
    }
    std::string compile_error(const std::string& lua, const std::string& name = "p.lua") {
        try {
            PolicyEngine::compile(write(lua, name), {});
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "no error";
    }
    static std::unique_ptr<PolicyEngine> shipped(const std::string& name) {
        return PolicyEngine::compile(kPolicies + "/" + name, {});
    }

    std::string dir_;
};

PolicyRequest request_with_usage(std::vector<std::string> usage) {
    PolicyRequest r;
    r.subject = "CN=dev1,O=Example";
    r.subject_fields = {{"CN", "dev1"}, {"O", "Example"}};
    r.key_usage = std::move(usage);
    r.key_type = "rsa";
    r.key_bits = 2048;
    r.templates = {{"signature", "Sig"}, {"encryption", "Enc"}, {"general_purpose", "GP"}};
    return r;
}

std::string error_of(PolicyEngine& e, const PolicyRequest& r) {
    try {
        e.verify_request(r);
    } catch (const PolicyError& err) {
        return err.what();
    }
    return "no error";
}

// ---- compiling ----

TEST_F(PolicyTest, SyntaxErrorNamesFileAndLine) {
    std::string e = compile_error("function verify_request(req)\n  return {verdict = }\nend\n");
    EXPECT_EQ(e.rfind(dir_ + "/p.lua:2: ", 0), 0u) << e;
    EXPECT_NE(e.find("unexpected symbol"), std::string::npos) << e;
}

TEST_F(PolicyTest, LongPathsKeepTheFullFileName) {
    std::string name = std::string(80, 'x') + ".lua";  // Lua itself would shorten it to "...xxx"
    std::string e = compile_error("\n\nfunction verify_request(req) return true end end\n", name);
    EXPECT_EQ(e.rfind(dir_ + "/" + name + ":3: ", 0), 0u) << e;
}

TEST_F(PolicyTest, TopLevelRuntimeErrorIsAConfigError) {
    std::string e = compile_error("local x\nlocal y = x.field\nfunction notify(r) end\n");
    EXPECT_EQ(e.rfind(dir_ + "/p.lua:2: ", 0), 0u) << e;
}

TEST_F(PolicyTest, APolicyWithoutHooksOrFileIsRejected) {
    EXPECT_NE(compile_error("local x = 1\n").find("defines none of"), std::string::npos);
    EXPECT_NE(compile_error("verify_request = 5\n").find("verify_request must be a function"), std::string::npos);
    EXPECT_THROW(PolicyEngine::compile(dir_ + "/missing.lua", {}), ConfigError);
}

TEST_F(PolicyTest, HooksAreDetected) {
    auto e = engine("function notify(r) end\n");
    EXPECT_TRUE(e->has_hook("notify"));
    EXPECT_FALSE(e->has_hook("verify_request"));
    EXPECT_EQ(e->verify_request({}).verdict, Verdict::allow);  // absent hook: allow, profile's template
    EXPECT_FALSE(e->generate_challenge({}).has_value());
}

// ---- decisions ----

TEST_F(PolicyTest, EachDecisionKind) {
    auto e = engine(R"(
        function verify_request(req)
          local kind = req.claims.kind
          if kind == "allow" then return scep.allow("T1") end
          if kind == "deny" then return scep.deny("no such device") end
          if kind == "pending" then return scep.pending() end
          if kind == "table" then return { verdict = "deny" } end
          if kind == "true" then return true end
          if kind == "false" then return false, "said no" end
          if kind == "bad" then return { verdict = "maybe" } end
          if kind == "number" then return 42 end
        end)");
    PolicyRequest r;
    auto run = [&](const std::string& kind) {
        r.claims = {{"kind", kind}};
        return e->verify_request(r);
    };
    EXPECT_EQ(run("allow").template_name, "T1");
    EXPECT_EQ(run("deny").verdict, Verdict::deny);
    EXPECT_EQ(run("deny").reason, "no such device");
    EXPECT_EQ(run("pending").verdict, Verdict::pending);
    EXPECT_EQ(run("table").reason, "denied by policy");
    EXPECT_EQ(run("true").verdict, Verdict::allow);
    EXPECT_EQ(run("false").reason, "said no");
    r.claims = {{"kind", "nothing"}};
    EXPECT_NE(error_of(*e, r).find("returned no decision"), std::string::npos);
    r.claims = {{"kind", "bad"}};
    EXPECT_NE(error_of(*e, r).find("allow, deny or pending"), std::string::npos);
    r.claims = {{"kind", "number"}};
    EXPECT_NE(error_of(*e, r).find("returned a number"), std::string::npos);
}

TEST_F(PolicyTest, RuntimeErrorsNameFileAndLine) {
    auto e = engine("function verify_request(req)\n  return req.nothing.here\nend\n");
    std::string err = error_of(*e, {});
    EXPECT_NE(err.find("verify_request: " + dir_ + "/p.lua:2:"), std::string::npos) << err;
}

TEST_F(PolicyTest, RequestFieldsReachLua) {
    auto e = engine(R"(
        function verify_request(req)
          assert(req.transaction_id == "tx1" and req.message_type == "RenewalReq")
          assert(req.subject_fields.CN == "dev1" and req.key_bits == 3072 and req.key_type == "rsa")
          assert(req.sans[2].type == "email" and req.sans[2].value == "a@example.com")
          assert(req.extended_key_usage[1] == "1.3.6.1.5.5.7.3.2")
          assert(req.client_ip == "192.0.2.7" and req.signer_cert_pem == "PEM")
          return scep.allow(req.templates.signature)
        end)");
    PolicyRequest r = request_with_usage({"digitalSignature"});
    r.transaction_id = "tx1";
    r.message_type = "RenewalReq";
    r.key_bits = 3072;
    r.sans = {{"dns", "dev1.example"}, {"email", "a@example.com"}};
    r.extended_key_usage = {"1.3.6.1.5.5.7.3.2"};
    r.client_ip = "192.0.2.7";
    r.signer_cert_pem = "PEM";
    EXPECT_EQ(e->verify_request(r).template_name, "Sig");
}

TEST_F(PolicyTest, SanRewriteExample) {
    auto e = PolicyEngine::compile(kPolicies + "/examples/san_rewrite.lua", {});
    PolicyRequest r;
    r.subject_fields = {{"CN", "Host1.Example.COM"}};
    r.sans = {{"email", "Alice@Example.COM"}, {"uri", "tag:x"}};
    PolicyDecision d = e->verify_request(r);
    ASSERT_TRUE(d.sans.has_value());
    std::vector<std::pair<std::string, std::string>> want = {
        {"email", "alice@example.com"}, {"uri", "tag:x"}, {"dns", "host1.example.com"}};
    EXPECT_EQ(*d.sans, want);
    r.sans = {{"dns", "host1.example.com"}};
    EXPECT_EQ(e->verify_request(r).sans->size(), 1u);  // not added twice
}

TEST_F(PolicyTest, SansAsStringsAndBadSans) {
    auto e = engine(R"(
        function verify_request(req)
          if req.profile == "bad" then return { verdict = "allow", sans = { "fax:123" } } end
          return { verdict = "allow", sans = { "dns:a.example", { type = "ip", value = "192.0.2.1" } } }
        end)");
    PolicyRequest r;
    std::vector<std::pair<std::string, std::string>> want = {{"dns", "a.example"}, {"ip", "192.0.2.1"}};
    EXPECT_EQ(*e->verify_request(r).sans, want);
    r.profile = "bad";
    EXPECT_NE(error_of(*e, r).find("unknown SAN type 'fax'"), std::string::npos);
}

TEST_F(PolicyTest, DecisionMayCarryASid) {
    auto e = engine(R"(
        function verify_request(req)
          if req.profile == "none" then return { verdict = "allow" } end
          return { verdict = "allow", sid = "S-1-5-21-1-2-3-500" }
        end)");
    PolicyRequest r;
    EXPECT_EQ(e->verify_request(r).sid, std::optional<std::string>("S-1-5-21-1-2-3-500"));
    r.profile = "none";
    EXPECT_FALSE(e->verify_request(r).sid);
}

// ---- the shipped policies ----

TEST_F(PolicyTest, NdesChoosesTheTemplateByKeyUsage) {
    auto e = shipped("ndes.lua");
    EXPECT_EQ(e->verify_request(request_with_usage({"digitalSignature"})).template_name, "Sig");
    EXPECT_EQ(e->verify_request(request_with_usage({"keyEncipherment"})).template_name, "Enc");
    EXPECT_EQ(e->verify_request(request_with_usage({"digitalSignature", "keyEncipherment"})).template_name, "GP");
    EXPECT_EQ(e->verify_request(request_with_usage({})).template_name, "GP");
    EXPECT_EQ(e->verify_request(request_with_usage({"nonRepudiation", "digitalSignature"})).template_name, "Sig");
    EXPECT_EQ(e->verify_request(request_with_usage({"keyEncipherment"})).verdict, Verdict::allow);
}

class StrictPolicy : public PolicyTest {
   protected:
    std::string reason(const std::map<std::string, std::string>& claims) {
        PolicyRequest r = request_with_usage({"digitalSignature", "keyEncipherment"});
        r.sans = {{"dns", "dev1.example"}, {"upn", "dev1@example"}};
        r.extended_key_usage = {"1.3.6.1.5.5.7.3.2"};
        r.claims = claims;
        PolicyDecision d = e_->verify_request(r);
        return d.verdict == Verdict::allow ? "allow" : d.reason;
    }
    std::unique_ptr<PolicyEngine> e_ = shipped("strict.lua");
};

TEST_F(StrictPolicy, AllowsAMatchingRequest) {
    EXPECT_EQ(reason({{"subject", "CN=dev1,O=Example"},
                      {"sans", "upn:dev1@example, dns:dev1.example"},
                      {"key_usage", "keyEncipherment,digitalSignature"},
                      {"extended_key_usage", "clientAuth"},
                      {"min_key_size", "2048"}}),
              "allow");
    EXPECT_EQ(reason({{"subject_pattern", "CN=dev%d+,O=Example"}}), "allow");
}

TEST_F(StrictPolicy, DeniesEachMismatchWithIntunesCode) {
    auto starts = [](const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; };
    EXPECT_TRUE(starts(reason({{"subject", "CN=dev2,O=Example"}}), "SubjectNameMismatch:"));
    EXPECT_TRUE(starts(reason({{"subject_pattern", "CN=dev%d"}}), "SubjectNameMismatch:"));  // whole subject
    EXPECT_TRUE(starts(reason({{"sans", "dns:dev1.example"}}), "SubjectAltNameMismatch:"));
    EXPECT_TRUE(starts(reason({{"key_usage", "digitalSignature"}}), "KeyUsageMismatch:"));
    EXPECT_TRUE(starts(reason({{"extended_key_usage", "serverAuth"}}), "EnhancedKeyUsageMismatch:"));
    EXPECT_TRUE(starts(reason({{"min_key_size", "4096"}}), "KeyLengthMismatch:"));
    EXPECT_TRUE(starts(reason({}), "ClaimsMissing:"));
}

TEST_F(PolicyTest, DenyBySubjectExample) {
    auto e = PolicyEngine::compile(kPolicies + "/examples/deny_by_subject.lua", {});
    PolicyRequest r;
    r.subject = "CN=test-7,O=Example";
    EXPECT_EQ(e->verify_request(r).verdict, Verdict::deny);
    r.subject = "CN=kiosk,OU=Retired,O=Example";
    EXPECT_EQ(e->verify_request(r).verdict, Verdict::deny);
    r.subject = "CN=kiosk,OU=RetiredSoon,O=Example";
    EXPECT_EQ(e->verify_request(r).verdict, Verdict::allow);
}

// ---- the sandbox ----

TEST_F(PolicyTest, SandboxHasNoWayOut) {
    auto e = engine(R"(
        function verify_request(req)
          local absent = { io, require, load, loadfile, dofile, print, debug, package, coroutine,
                           os.execute, os.getenv, os.exit, os.remove, string.dump, ("").dump }
          for i = 1, 15 do assert(absent[i] == nil, "reachable: #" .. i) end
          assert(getmetatable("") == false)
          assert(not pcall(collectgarbage, "stop"))
          assert(type(collectgarbage("count")) == "number")
          assert(os.time() > 0 and os.date("!%Y", 0) == "1970" and os.clock() >= 0)
          assert(string.format("%d", 7) == "7" and utf8.char(72) == "H" and math.max(1, 2) == 2)
          assert(scep.oid("clientAuth") == "1.3.6.1.5.5.7.3.2" and scep.oid("nonsense") == nil)
          return true
        end)");
    EXPECT_EQ(error_of(*e, {}), "no error");
}

TEST_F(PolicyTest, NothingLeaksBetweenEvaluations) {
    auto e = engine(R"(
        local calls = 0
        function verify_request(req)
          calls = calls + 1
          local fresh = seen == nil and string.mark == nil and table.mark == nil and calls == 1
          seen, string.mark, table.mark = true, true, true
          return fresh, "state leaked from an earlier evaluation"
        end)");
    for (int i = 0; i < 3; ++i) EXPECT_EQ(e->verify_request({}).verdict, Verdict::allow) << i;
}

// ---- limits ----

TEST_F(PolicyTest, EndlessLoopHitsTheInstructionLimitAndTheEngineRecovers) {
    auto e = engine(R"(
        function verify_request(req)
          if req.profile == "loop" then while true do end end
          if req.profile == "sly" then  -- catching the limit's error does not help
            while true do pcall(function() while true do end end) end
          end
          return scep.allow("ok")
        end)");
    PolicyRequest loop, sly, fine;
    loop.profile = "loop";
    sly.profile = "sly";
    EXPECT_NE(error_of(*e, loop).find("instruction limit exceeded"), std::string::npos);
    EXPECT_EQ(e->verify_request(fine).template_name, "ok");
    EXPECT_NE(error_of(*e, sly).find("instruction limit exceeded"), std::string::npos);
    EXPECT_EQ(e->verify_request(fine).template_name, "ok");
}

TEST_F(PolicyTest, UnboundedAllocationHitsTheMemoryLimitAndTheEngineRecovers) {
    auto e = engine(R"(
        function verify_request(req)
          if req.profile == "table" then
            local t = {}
            for i = 1, math.maxinteger do t[i] = ("x"):rep(64) .. i end
          end
          if req.profile == "string" then return scep.allow(("x"):rep(1 << 30)) end
          return scep.allow("ok")
        end)", PolicyLimits{100'000'000, 4 << 20});
    PolicyRequest table, big, fine;
    table.profile = "table";
    big.profile = "string";
    EXPECT_NE(error_of(*e, table).find("memory limit exceeded"), std::string::npos);
    EXPECT_EQ(e->verify_request(fine).template_name, "ok");
    EXPECT_NE(error_of(*e, big).find("memory limit exceeded"), std::string::npos);
    EXPECT_EQ(e->verify_request(fine).template_name, "ok");
}

TEST_F(PolicyTest, EightThreadsEvaluateConcurrently) {
    auto e = engine(R"(
        function verify_request(req)
          assert(marker == nil, "a global leaked")
          marker = req.transaction_id
          local n = 0
          for i = 1, 2000 do n = n + i end
          return scep.allow(req.transaction_id .. ":" .. n)
        end)");
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                PolicyRequest r;
                r.transaction_id = std::to_string(t) + "-" + std::to_string(i);
                if (e->verify_request(r).template_name != r.transaction_id + ":2001000") ++wrong;
            }
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

// ---- the other hooks ----

TEST_F(PolicyTest, NotifySeesTheResult) {
    auto e = engine(R"(
        function notify(result)
          assert(result.status == "SUCCESS" and result.serial == "0A" and result.transaction_id == "tx")
          if result.reason ~= "" then error("notified: " .. result.reason) end
        end)");
    PolicyResult r{"tx", "SUCCESS", "", "", "0A", "ab"};
    EXPECT_NO_THROW(e->notify(r));
    r.reason = "boom";
    EXPECT_THROW(e->notify(r), PolicyError);
    EXPECT_EQ(e->verify_request({}).verdict, Verdict::allow);  // no verify_request hook
}

TEST_F(PolicyTest, GenerateChallengeBindsClaimsOrRefuses) {
    auto e = engine(R"(
        function generate_challenge(ctx)
          if ctx.user == "mallory" then return nil, "quota exceeded" end
          return { subject = "CN=" .. ctx.user, min_key_size = 2048, strict = true }
        end)");
    auto ok = e->generate_challenge({{"user", "alice"}});
    ASSERT_TRUE(ok.has_value());
    EXPECT_TRUE(ok->allowed);
    std::map<std::string, std::string> want = {{"subject", "CN=alice"}, {"min_key_size", "2048"}, {"strict", "true"}};
    EXPECT_EQ(ok->claims, want);
    auto no = e->generate_challenge({{"user", "mallory"}});
    EXPECT_FALSE(no->allowed);
    EXPECT_EQ(no->reason, "quota exceeded");
    EXPECT_FALSE(e->has_hook("notify"));
    EXPECT_NO_THROW(e->notify({}));
}

// ---- from a real CSR, and the CLI ----

std::string make_csr_pem(EVP_PKEY* key) {
    ossl::X509Req req(X509_REQ_new());
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("dev1"), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key);
    ossl::ExtStack exts(sk_X509_EXTENSION_new_null());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
    sk_X509_EXTENSION_push(exts.get(), X509V3_EXT_conf_nid(nullptr, &ctx, NID_key_usage, "keyEncipherment"));
    sk_X509_EXTENSION_push(exts.get(), X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:dev1.example"));
    X509_REQ_add_extensions(req.get(), exts.get());
    X509_REQ_sign(req.get(), key, EVP_sha256());
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509_REQ(bio.get(), req.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, std::size_t(n));
}

TEST_F(PolicyTest, RequestFromCsr) {
    auto key = test::rsa_key();
    std::string pem = make_csr_pem(key.get());
    ossl::Bio bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
    ossl::X509Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
    PolicyRequest r = policy_request_from_csr(read_csr(to_der(req.get(), i2d_X509_REQ)));
    EXPECT_EQ(r.subject, "CN=dev1");
    EXPECT_EQ(r.subject_fields.at("CN"), "dev1");
    EXPECT_EQ(r.key_usage, std::vector<std::string>{"keyEncipherment"});
    ASSERT_EQ(r.sans.size(), 1u);
    EXPECT_EQ(r.sans[0], std::make_pair(std::string("dns"), std::string("dev1.example")));
    EXPECT_EQ(r.key_bits, 2048);
}

TEST_F(PolicyTest, CliPolicyTestPrintsTheDecision) {
    auto key = test::rsa_key();
    std::string csr = write(make_csr_pem(key.get()), "req.pem");
    std::ostringstream out;
    std::streambuf* old = std::cout.rdbuf(out.rdbuf());
    int rc = cli::run_policy({"test", "--policy", kPolicies + "/ndes.lua", "--csr", csr, "--templates", "S,E,G"});
    rc += cli::run_policy({"test", "--policy", kPolicies + "/strict.lua", "--csr", csr, "--claims",
                           "subject=CN=dev1,O=Other,min_key_size=1024"});
    std::cout.rdbuf(old);
    EXPECT_EQ(rc, 0);
    EXPECT_NE(out.str().find("\"verdict\": \"allow\",\n  \"template\": \"E\""), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("\"reason\": \"SubjectNameMismatch: the CSR's subject 'CN=dev1' is not "
                             "'CN=dev1,O=Other'\""),
              std::string::npos)
        << out.str();
}

}  // namespace
}  // namespace scepter
