// One issuance for every face: `scepter challenge` and the JSON admin
// location both run the profile's generate_challenge, refuse what the
// profile or the policy refuses, and write the same challenge_issued audit
// line. The CLI runs from the directory above conf/ with a relative
// --config, so the store must be found where the configuration says.
#include "../../cli/cli.h"
#include "../../cli/demo_pki.h"

#include "scepter/admin.h"
#include "scepter/log_ids.h"
#include "scepter/store.h"
#include "service/service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

namespace scepter {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPolicy = R"(
function generate_challenge(ctx)
  if ctx.user == "mallory" then return nil, "not for mallory" end
  return { issued_via = "generate_challenge for " .. ctx.requester }
end
)";

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The flat JSON audit line as key → value (values are strings).
std::map<std::string, std::string> parse_line(const std::string& line) {
    static const std::regex pair(R"re("([a-z_]+)":"((?:[^"\\]|\\.)*)")re");
    std::map<std::string, std::string> out;
    for (std::sregex_iterator it(line.begin(), line.end(), pair), end; it != end; ++it) out[(*it)[1]] = (*it)[2];
    return out;
}

std::vector<std::map<std::string, std::string>> issued_lines(const fs::path& audit_log) {
    std::vector<std::map<std::string, std::string>> out;
    std::istringstream in(read_file(audit_log));
    for (std::string line; std::getline(in, line);) {
        auto fields = parse_line(line);
        if (fields["step"] == "challenge_issued") out.push_back(fields);
    }
    return out;
}

std::set<std::string> keys_of(const std::map<std::string, std::string>& m) {
    std::set<std::string> out;
    for (const auto& [k, v] : m) out.insert(k);
    return out;
}

struct Outcome {
    int exit_code;
    std::string out;
    std::string err;
};

// run_challenge from `dir`, with its stdout and stderr.
Outcome challenge_from(const fs::path& dir, const std::vector<std::string>& args) {
    fs::path before = fs::current_path();
    std::ostringstream out, err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    fs::current_path(dir);
    int code = -1;
    try {
        code = cli::run_challenge(args);
    } catch (...) {
        code = -2;
    }
    fs::current_path(before);
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    return {code, out.str(), err.str()};
}

// A demo PKI in TOP/conf whose default profile has a generate_challenge
// policy, and a profile without one-time challenges.
class AdminChallenge : public ::testing::Test {
   protected:
    static void SetUpTestSuite() {
        char tmpl[] = "/tmp/scepter-admin-challenge-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        fs::path conf = top_ / "conf";
        config_ = cli::write_demo_pki({conf.string(), "Admin Test CA", false}).config_path;
        std::ofstream(conf / "gen.lua") << kPolicy;
        std::string yaml = read_file(config_);
        yaml.replace(yaml.find("    get_crl: true\n"), 18, "    get_crl: true\n    policy: gen.lua\n");
        yaml += "  static_only:\n    template: signature\n";
        std::ofstream(config_) << yaml;
    }
    static void TearDownTestSuite() { fs::remove_all(top_); }

    static fs::path top_;
    static std::string config_;
};

fs::path AdminChallenge::top_;
std::string AdminChallenge::config_;

TEST_F(AdminChallenge, CliFromAboveConfRunsThePolicyAndAudits) {
    Outcome o = challenge_from(top_, {"--config", "conf/scepter.yaml", "--profile", "default", "--user", "alice",
                                      "--requester", "ops", "--min-key-size", "2048"});
    ASSERT_EQ(o.exit_code, cli::kExitOk) << o.err;
    std::string challenge = o.out.substr(0, o.out.find('\n'));
    ASSERT_EQ(challenge.size(), 32u) << o.out;
    EXPECT_FALSE(fs::exists(top_ / "conf" / "conf")) << "the store path was resolved twice";

    auto store = open_sqlite_store((top_ / "conf" / cli::kStoreFile).string(), 5000);
    auto record = store->find_challenge(challenge_id(challenge));
    ASSERT_TRUE(record.has_value());
    EXPECT_NE(record->claims_json.find("\"issued_via\":\"generate_challenge for ops\""), std::string::npos)
        << record->claims_json;
    EXPECT_NE(record->claims_json.find("\"min_key_size\":\"2048\""), std::string::npos) << record->claims_json;

    auto lines = issued_lines(top_ / "conf" / "audit.log");
    ASSERT_FALSE(lines.empty());
    auto& line = lines.back();
    EXPECT_EQ(line["challenge_id"], challenge_id(challenge));
    EXPECT_EQ(line["operation"], "cli");
    EXPECT_EQ(line["requester"], "ops");
    EXPECT_EQ(line["user"], "alice");
    EXPECT_NE(line["claims"].find("generate_challenge for ops"), std::string::npos) << line["claims"];
}

TEST_F(AdminChallenge, CliRefusesWhatTheProfileOrThePolicyRefuses) {
    Outcome off = challenge_from(top_, {"--config", "conf/scepter.yaml", "--profile", "static_only", "--user", "bob"});
    EXPECT_EQ(off.exit_code, cli::kExitFailure);
    EXPECT_NE(off.err.find("one-time challenges are not enabled on profile 'static_only'"), std::string::npos)
        << off.err;
    Outcome refused = challenge_from(top_, {"--config", "conf/scepter.yaml", "--profile", "default", "--user",
                                            "mallory"});
    EXPECT_EQ(refused.exit_code, cli::kExitFailure);
    EXPECT_NE(refused.err.find("not for mallory"), std::string::npos) << refused.err;
    Outcome unknown = challenge_from(top_, {"--config", "conf/scepter.yaml", "--profile", "nope", "--user", "bob"});
    EXPECT_EQ(unknown.exit_code, cli::kExitFailure);
    EXPECT_NE(unknown.err.find("no profile 'nope'"), std::string::npos) << unknown.err;
    // The refusal is in the trail, as a failed step: nothing was issued to mallory.
    int refusals = 0;
    for (auto& line : issued_lines(top_ / "conf" / "audit.log")) {
        if (line["user"] != "mallory") continue;
        EXPECT_EQ(line["outcome"], "failed");
        EXPECT_EQ(line.count("challenge_id"), 0u);
        ++refusals;
    }
    EXPECT_EQ(refusals, 1);
}

TEST_F(AdminChallenge, AdminLocationAndCliWriteTheSameAuditLine) {
    ASSERT_EQ(challenge_from(top_, {"--config", "conf/scepter.yaml", "--profile", "default", "--user", "carol",
                                    "--requester", "mdm"})
                  .exit_code,
              cli::kExitOk);
    auto cli_line = issued_lines(top_ / "conf" / "audit.log").back();

    auto service = Service::load(config_);
    Request r;
    r.method = "GET";
    r.route = "admin";
    r.profile = "default";
    r.query = "user=carol";
    r.remote_user = "mdm";
    r.client_ip = "192.0.2.7";
    auto resp = service->handle(r, true);
    ASSERT_TRUE(resp.has_value());
    ASSERT_EQ(resp->status, 200) << std::string(resp->body.begin(), resp->body.end());
    auto admin_line = issued_lines(top_ / "conf" / "audit.log").back();

    EXPECT_EQ(keys_of(admin_line), keys_of(cli_line));
    EXPECT_EQ(admin_line["operation"], "admin");
    EXPECT_EQ(cli_line["operation"], "cli");
    for (const char* same : {"id", "step", "outcome", "profile", "user", "requester", "claims"})
        EXPECT_EQ(admin_line[same], cli_line[same]) << same;
    EXPECT_NE(admin_line["claims"].find("generate_challenge for mdm"), std::string::npos) << admin_line["claims"];

    r.query = "user=mallory";
    resp = service->handle(r, true);
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->status, 403);
}

// A location bound to a profile issues for it only; one that names no
// profile serves whichever `?profile=` asks for.
TEST_F(AdminChallenge, BoundAdminLocationRefusesAnotherProfile) {
    auto service = Service::load(config_);
    Request r;
    r.method = "GET";
    r.route = "admin";
    r.profile = "default";
    r.query = "user=dave&profile=legacy";
    r.remote_user = "mdm";
    r.client_ip = "192.0.2.8";
    auto resp = service->handle(r, true);
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->status, 403);
    EXPECT_EQ(resp->content_type, "application/json");
    EXPECT_NE(std::string(resp->body.begin(), resp->body.end()).find("for profile 'default' only"), std::string::npos);
    ASSERT_EQ(resp->logs.size(), 1u);
    EXPECT_EQ(resp->logs[0].level, SCEPTER_LOG_WARN);
    EXPECT_EQ(resp->logs[0].text.rfind(SCEPTER_ID_ADMIN_OTHER_PROFILE, 0), 0u) << resp->logs[0].text;

    r.query = "user=dave&profile=default";  // naming its own profile is fine
    resp = service->handle(r, true);
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->status, 200) << std::string(resp->body.begin(), resp->body.end());

    r.profile.clear();  // a location for every profile
    r.query = "user=dave&profile=legacy";
    resp = service->handle(r, true);
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->status, 200) << std::string(resp->body.begin(), resp->body.end());
}

TEST_F(AdminChallenge, ReadingNeverCreatesTheStore) {
    fs::path db = top_ / "conf" / cli::kStoreFile;
    fs::path moved = top_ / "kept.db";
    // No store yet means no marker either (a store moved away while its
    // marker stays is a lost store, refused).
    fs::path marker = db.string() + "-created";
    fs::path moved_marker = top_ / "kept.db-created";
    bool had = fs::exists(db);
    if (had) fs::rename(db, moved);
    bool had_marker = fs::exists(marker);
    if (had_marker) fs::rename(marker, moved_marker);
    {
        Admin admin(config_);
        EXPECT_TRUE(admin.list_certs(10).empty());
        EXPECT_FALSE(admin.find_request("tx").has_value());
        EXPECT_EQ(admin.purge_expired_challenges(), 0u);
        EXPECT_FALSE(admin.decide_request("tx", true, "").decided);
    }
    EXPECT_FALSE(fs::exists(db));
    if (had) fs::rename(moved, db);
    if (had_marker) fs::rename(moved_marker, marker);
}

}  // namespace
}  // namespace scepter
