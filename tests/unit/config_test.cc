// Configuration errors name the file, the line and the key; capabilities
// list only what a profile enforces.
#include "scepter/config.h"

#include "service/service.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace scepter {
namespace {

class ConfigFile : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-config-XXXXXX";
        dir_ = mkdtemp(tmpl);
        for (const char* f : {"ca.pem", "ca.key"}) std::ofstream(dir_ + "/" + f) << "x";
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

    std::string write(const std::string& yaml) {
        std::string path = dir_ + "/scepter.yaml";
        std::ofstream(path) << yaml;
        return path;
    }

    std::string error_of(const std::string& yaml) {
        try {
            load_config(write(yaml));
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "no error";
    }

    static std::string minimal(const std::string& profile_extra = "", const std::string& top_extra = "") {
        return "store: {sqlite: db}\n"
               "ca: {cert: ca.pem, key: ca.key}\n" + top_extra +
               "templates:\n"
               "  t: {key_usage: [digitalSignature]}\n"
               "profiles:\n"
               "  default:\n"
               "    template: t\n"
               "    challenge: {static: s3cret}\n" + profile_extra;
    }

    std::string dir_;
};

TEST_F(ConfigFile, MinimalFileLoadsWithStrictDefaults) {
    Config cfg = load_config(write(minimal()));
    const Profile& p = cfg.profiles.at("default");
    EXPECT_FALSE(p.allow_legacy_clients);
    EXPECT_EQ(p.ciphers.count(ContentCipher::des3), 0u);
    EXPECT_EQ(p.digests.count(Digest::sha1), 0u);
    EXPECT_EQ(cfg.sqlite_path, dir_ + "/db");
    EXPECT_EQ(p.challenge.static_sha256.size(), 64u);
    EXPECT_EQ(cfg.templates.at("t").min_rsa_bits, 2048);
}

TEST_F(ConfigFile, AuditGetRequestsIsOneOfThreeWords) {
    EXPECT_EQ(load_config(write(minimal())).audit_get_requests, AuditGetRequests::all);
    EXPECT_EQ(load_config(write(minimal("", "audit: {get_requests: none}\n"))).audit_get_requests,
              AuditGetRequests::none);
    EXPECT_EQ(load_config(write(minimal("", "audit:\n  get_requests: first_per_client_per_minute\n")))
                  .audit_get_requests,
              AuditGetRequests::first_per_client_per_minute);
    std::string e = error_of(minimal("", "audit: {get_requests: sometimes}\n"));
    EXPECT_NE(e.find("key 'audit.get_requests': must be all, none or first_per_client_per_minute"), std::string::npos)
        << e;
    e = error_of(minimal("", "audit: {get_request: none}\n"));
    EXPECT_NE(e.find("key 'audit.get_request': unknown key"), std::string::npos) << e;
}

TEST_F(ConfigFile, StoreSyncsEveryCommitUnlessToldNormal) {
    EXPECT_EQ(load_config(write(minimal())).sqlite_sync, SqliteSync::full);
    std::string normal = minimal();
    normal.replace(0, std::string("store: {sqlite: db}").size(), "store: {sqlite: db, synchronous: normal}");
    EXPECT_EQ(load_config(write(normal)).sqlite_sync, SqliteSync::normal);
    std::string off = minimal();
    off.replace(0, std::string("store: {sqlite: db}").size(), "store: {sqlite: db, synchronous: off}");
    std::string e = error_of(off);
    EXPECT_NE(e.find("key 'store.synchronous': must be full or normal"), std::string::npos) << e;
}

TEST_F(ConfigFile, PostgresqlStoreTakesAConninfoWithoutAPassword) {
    auto with_store = [&](const std::string& store) {
        std::string text = minimal();
        text.replace(0, std::string("store: {sqlite: db}").size(), store);
        return text;
    };
    Config cfg = load_config(write(with_store("store: {postgresql: 'host=127.0.0.1 dbname=scep user=s'}")));
    EXPECT_TRUE(cfg.uses_postgresql());
    EXPECT_EQ(cfg.pg_conninfo, "host=127.0.0.1 dbname=scep user=s");
    EXPECT_TRUE(load_config(write(with_store("store: {postgresql: 'postgresql://s@db.example/scep'}"))).uses_postgresql());
    EXPECT_FALSE(load_config(write(minimal())).uses_postgresql());

    std::string e = error_of(with_store("store: {postgresql: 'host=h password=Hunter2-secret'}"));
    EXPECT_NE(e.find("key 'store.postgresql': holds a password"), std::string::npos) << e;
    EXPECT_EQ(e.find("Hunter2-secret"), std::string::npos) << e;
    e = error_of(with_store("store: {postgresql: 'postgresql://s:Hunter2-secret@h/scep'}"));
    EXPECT_NE(e.find("holds a password"), std::string::npos) << e;
    EXPECT_EQ(e.find("Hunter2-secret"), std::string::npos) << e;
    e = error_of(with_store("store: {postgresql: 'host=h =Hunter2-secret'}"));
    EXPECT_NE(e.find("is not a libpq connection string"), std::string::npos) << e;
    EXPECT_EQ(e.find("Hunter2-secret"), std::string::npos) << e;
    e = error_of(with_store("store: {postgresql: 'host=h', sqlite: db}"));
    EXPECT_NE(e.find("choose one store"), std::string::npos) << e;
    e = error_of(with_store("store: {postgresql: 'host=h', postgresql_password_file: no-such-file}"));
    EXPECT_NE(e.find("key 'store.postgresql_password_file': cannot read"), std::string::npos) << e;
    e = error_of(with_store("store: {sqlite: db, postgresql_password_file: pw}"));
    EXPECT_NE(e.find("needs store.postgresql"), std::string::npos) << e;
}

TEST_F(ConfigFile, SyntaxErrorNamesFileAndLine) {
    std::string e = error_of("store: {sqlite: db}\nca: [unclosed\n");
    EXPECT_NE(e.find(dir_ + "/scepter.yaml:"), std::string::npos) << e;
    EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
}

TEST_F(ConfigFile, UnknownKeyNamesLineAndDottedKey) {
    std::string e = error_of(minimal("    ciphres: [aes128]\n"));
    EXPECT_NE(e.find("scepter.yaml:9: key 'profiles.default.ciphres': unknown key"), std::string::npos) << e;
}

TEST_F(ConfigFile, MissingFileIsReportedAtItsKey) {
    std::string e = error_of("store: {sqlite: db}\nca: {cert: ca.pem, key: missing.key}\ntemplates: {}\n");
    EXPECT_NE(e.find("scepter.yaml:2: key 'ca.key': cannot read"), std::string::npos) << e;
}

TEST_F(ConfigFile, KeyGivenTwiceNamesBothLines) {
    std::string e = error_of(minimal("    template: t\n"));
    EXPECT_NE(e.find("scepter.yaml:9: key 'profiles.default.template': is given twice (first on line 7)"),
              std::string::npos) << e;
    e = error_of(minimal() + "store: {sqlite: other}\n");
    EXPECT_NE(e.find("key 'store': is given twice (first on line 1)"), std::string::npos) << e;
}

TEST_F(ConfigFile, IndentationErrorNamesTheLineBeforeToo) {
    std::string e = error_of("store: {sqlite: db}\ncrl:\n   validity_hours: 168\n  refresh_hours: 24\n");
    EXPECT_NE(e.find("scepter.yaml:4: YAML syntax error: "), std::string::npos) << e;
    EXPECT_NE(e.find("(line 3 is indented 3 spaces, line 4 2: the keys of one mapping line up"), std::string::npos) << e;
}

TEST_F(ConfigFile, UnopenableFileSaysWhy) {
    std::string e;
    try {
        load_config(dir_ + "/absent.yaml");
    } catch (const ConfigError& err) {
        e = err.what();
    }
    EXPECT_NE(e.find("absent.yaml: cannot open the configuration file: No such file or directory"),
              std::string::npos) << e;
}

// Found by fuzz_config: a YAML complex key ("? ...") or a null key escaped
// load_config as yaml-cpp's "bad conversion", with neither file nor line.
TEST_F(ConfigFile, KeyThatIsNotANameIsAConfigError) {
    std::string complex = minimal().replace(0, 0, "? [store, ca]\n: x\n");
    std::string e = error_of(complex);
    EXPECT_NE(e.find("scepter.yaml:1: "), std::string::npos) << e;
    EXPECT_NE(e.find("must be a plain name"), std::string::npos) << e;
    std::string nested = minimal().replace(minimal().find("    template: t"), 0, "    ? {a: b}\n    : x\n");
    e = error_of(nested);
    EXPECT_NE(e.find("key 'profiles.default'"), std::string::npos) << e;
    EXPECT_NE(e.find("must be a plain name"), std::string::npos) << e;
}

TEST_F(ConfigFile, UnknownTemplateReference) {
    std::string e = error_of(minimal().replace(minimal().find("template: t"), 11, "template: nope"));
    EXPECT_NE(e.find("key 'profiles.default.template': names no template 'nope'"), std::string::npos) << e;
}

TEST_F(ConfigFile, SingleDesAndMd5NeedLegacyOptIn) {
    EXPECT_NE(error_of(minimal("    ciphers: [des, aes128]\n")).find("single DES needs allow_legacy_clients"),
              std::string::npos);
    EXPECT_NE(error_of(minimal("    digests: [md5, sha256]\n")).find("MD5 needs allow_legacy_clients"),
              std::string::npos);
    EXPECT_NO_THROW(load_config(write(minimal("    ciphers: [des]\n    allow_legacy_clients: true\n"))));
}

TEST_F(ConfigFile, BadValuesAreExplained) {
    EXPECT_NE(error_of(minimal("", "limits: {max_message_bytes: 5}\n")).find("must be between"), std::string::npos);
    EXPECT_NE(error_of(minimal("    ciphers: [rc4]\n")).find("unknown cipher 'rc4'"), std::string::npos);
    std::string ku = minimal();
    ku.replace(ku.find("[digitalSignature]"), 18, "[signEverything]");
    EXPECT_NE(error_of(ku).find("unknown key usage 'signEverything'"), std::string::npos);
}

TEST_F(ConfigFile, IdentityKeysOfATemplate) {
    auto with = [](const std::string& t_yaml) {
        std::string text = minimal();
        text.replace(text.find("  t: {key_usage: [digitalSignature]}"), 36, "  t: {key_usage: [digitalSignature], " + t_yaml + "}");
        return text;
    };
    Config plain = load_config(write(minimal()));
    EXPECT_EQ(plain.templates.at("t").sid_extension, Template::SidRule::forbid);
    EXPECT_TRUE(plain.templates.at("t").san_uri_prefixes.empty());
    Config cfg = load_config(write(with("sid_extension: require, san: {allowed: [uri], uri_prefixes: ['IntuneDeviceId://']}")));
    EXPECT_EQ(cfg.templates.at("t").sid_extension, Template::SidRule::require);
    EXPECT_EQ(cfg.templates.at("t").san_uri_prefixes, std::vector<std::string>{"IntuneDeviceId://"});
    EXPECT_NE(error_of(with("sid_extension: maybe")).find("must be forbid, allow or require"), std::string::npos);
    EXPECT_NE(error_of(with("san: {allowed: [dns], uri_prefixes: ['x:']}")).find("uri is not in allowed"),
              std::string::npos);
    EXPECT_NE(error_of(with("san: {allowed: [uri], uri_prefixes: ['a b']}")).find("not printable ASCII"),
              std::string::npos);
}

TEST_F(ConfigFile, PolicyLimitsDefaultGloballyAndPerProfile) {
    Config plain = load_config(write(minimal()));
    EXPECT_EQ(plain.profiles.at("default").policy_limits.max_instructions, 1'000'000);
    EXPECT_EQ(plain.profiles.at("default").policy_limits.max_time_ms, 1000);
    EXPECT_EQ(plain.profiles.at("default").policy_limits.max_pattern_subject_bytes, 4096u);
    Config cfg = load_config(write(minimal("    policy_limits: {time_ms: 200, pattern_subject_bytes: 1024}\n",
                                           "policy_limits: {instructions: 5000, memory_mb: 2, time_ms: 500}\n")));
    EXPECT_EQ(cfg.policy_limits.max_time_ms, 500);
    const PolicyLimits& l = cfg.profiles.at("default").policy_limits;
    EXPECT_EQ(l.max_instructions, 5000);         // inherited
    EXPECT_EQ(l.max_memory_bytes, 2u << 20);     // inherited
    EXPECT_EQ(l.max_time_ms, 200);               // the profile's own
    EXPECT_EQ(l.max_pattern_subject_bytes, 1024u);
}

TEST_F(ConfigFile, BadPolicyLimitsAreRefusedAtTheirKey) {
    EXPECT_NE(error_of(minimal("", "policy_limits: {time_ms: 0}\n")).find("key 'policy_limits.time_ms': must be between"),
              std::string::npos);
    EXPECT_NE(error_of(minimal("", "policy_limits: {instructions: many}\n")).find("must be a whole number"),
              std::string::npos);
    EXPECT_NE(error_of(minimal("", "policy_limits: {memory_mb: 100000}\n")).find("must be between"),
              std::string::npos);
    EXPECT_NE(error_of(minimal("    policy_limits: {pattern_subject_bytes: 10}\n"))
                  .find("key 'profiles.default.policy_limits.pattern_subject_bytes': must be between"),
              std::string::npos);
    EXPECT_NE(error_of(minimal("    policy_limits: {seconds: 1}\n")).find("unknown key"), std::string::npos);
}

TEST_F(ConfigFile, HeaderThatIsNotNameColonValueIsRefusedAtItsEntry) {
    std::string e = error_of(minimal("    external_validation:\n"
                                     "      validate_url: http://127.0.0.1:9/validate\n"
                                     "      headers:\n"
                                     "        - \"Authorization: Bearer t0ken\"\n"
                                     "        - \"X-Api-Key 12345\"\n"));
    EXPECT_NE(e.find("scepter.yaml:13: key 'profiles.default.external_validation.headers': entry 2 has no colon"),
              std::string::npos)
        << e;
    EXPECT_EQ(e.find("12345"), std::string::npos) << "a header value was echoed: " << e;
    EXPECT_NE(error_of(minimal("    external_validation:\n      validate_url: http://x/v\n"
                               "      headers: [\"Bad Name: v\"]\n"))
                  .find("entry 1 has a name that is not an HTTP token"),
              std::string::npos);
    EXPECT_NE(error_of(minimal("    external_validation:\n      validate_url: http://x/v\n"
                               "      caller_info: \"a\\nb\"\n"))
                  .find("key 'profiles.default.external_validation.caller_info': must be one line"),
              std::string::npos);
}

TEST(Capabilities, StrictProfileListsNoLegacy) {
    Profile p;
    EXPECT_EQ(capabilities_of(p, false), "POSTPKIOperation\nAES\nSHA-256\nSHA-512\nSCEPStandard\n");
}

TEST(Capabilities, LegacyProfileListsWhatItAccepts) {
    Profile p;
    p.ciphers = {ContentCipher::des3};
    p.digests = {Digest::sha1, Digest::sha256};
    EXPECT_EQ(capabilities_of(p, false), "POSTPKIOperation\nDES3\nSHA-1\nSHA-256\n");
}

}  // namespace
}  // namespace scepter

namespace scepter {
namespace {

class OcspConfigFile : public ConfigFile {};

TEST_F(OcspConfigFile, OcspKeysAndTheirRules) {
    Config plain = load_config(write(minimal()));
    EXPECT_EQ(plain.ocsp.next_update_hours, 24);
    EXPECT_EQ(plain.ocsp.responder_validity_hours, 72);
    EXPECT_FALSE(plain.ocsp.responder);
    Config cfg = load_config(write(minimal("", "ocsp: {url: 'http://pki.example/ocsp', next_update_hours: 4, "
                                               "responder_validity_hours: 12, revocation_check_ms: 0}\n")));
    EXPECT_EQ(cfg.ocsp.url, "http://pki.example/ocsp");
    EXPECT_EQ(cfg.ocsp.next_update_hours, 4);
    EXPECT_EQ(cfg.ocsp.revocation_check_ms, 0);
    EXPECT_NE(error_of(minimal("", "ocsp: {uri: x}\n")).find("ocsp.uri"), std::string::npos);
    EXPECT_NE(error_of(minimal("", "ocsp: {url: 'https://x/ocsp'}\n")).find("plain http://"), std::string::npos);
    EXPECT_NE(error_of(minimal("", "ocsp: {next_update_hours: 72}\n")).find("longer than next_update_hours"),
              std::string::npos);
    EXPECT_NE(error_of(minimal("", "ocsp: {responder_cert: ca.pem}\n")).find("go together"), std::string::npos);
    std::string issuers = minimal();
    issuers.replace(issuers.find("ca: {cert: ca.pem, key: ca.key}"), 31,
                    "ca: {cert: ca.pem, key: ca.key, issuers_url: 'http://a/ca.crt,x'}");
    EXPECT_NE(error_of(issuers).find("commas"), std::string::npos);
}

}  // namespace
}  // namespace scepter
