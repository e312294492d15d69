// A CA key (and RA keys) in a PKCS#11 token as the configuration names it: the RFC 7512
// URI checked at the boundary (no PIN, no module in it), the module and the
// PIN file required beside it, and a load that fails with a reason and
// without the PIN. The token itself is exercised by test_045 (SoftHSM2).
#include "ca/token_key.h"
#include "config/ca_key.h"
#include "scepter/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace scepter {
namespace {

TEST(Pkcs11Uri, NamesAPrivateKeyByObjectOrId) {
    EXPECT_EQ(pkcs11_uri_problem("pkcs11:token=scepter;object=ca;type=private"), "");
    EXPECT_EQ(pkcs11_uri_problem("pkcs11:token=My%20HSM;id=%01%02"), "");
    EXPECT_EQ(pkcs11_uri_problem("pkcs11:serial=1234;slot-id=3;object=ca"), "");
}

TEST(Pkcs11Uri, RefusesWhatCannotNameTheCaKey) {
    auto refused = [](const std::string& uri, const std::string& why) {
        std::string problem = pkcs11_uri_problem(uri);
        EXPECT_NE(problem.find(why), std::string::npos) << uri << ": " << problem;
    };
    refused("file:ca.key", "starts with pkcs11:");
    refused("pkcs11:token=scepter", "names no key");
    refused("pkcs11:object=ca;type=cert", "type must be private");
    refused("pkcs11:object=ca;pin-value=1234", "must not carry the PIN");
    refused("pkcs11:object=ca?pin-value=1234", "no query");
    refused("pkcs11:object=ca?module-path=/x.so", "no query");
    refused("pkcs11:object=ca;;type=private", "empty attribute");
    refused("pkcs11:object=ca;", "empty attribute");
    refused("pkcs11:object=my ca", "character RFC 7512 does not allow");
    refused("pkcs11:object=ca%2", "character RFC 7512 does not allow");
    refused("pkcs11:object=ca;object=other", "appears twice");
    refused("pkcs11:label=ca", "not an RFC 7512 path attribute");
}

class TokenKeyConfig : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-token-config-XXXXXX";
        dir_ = mkdtemp(tmpl);
        for (const char* f : {"ca.pem", "ca.key", "ra.pem", "ra.key", "module.so"}) std::ofstream(dir_ + "/" + f) << "x";
        std::ofstream(dir_ + "/pin") << "123456\n";
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

    std::string write(const std::string& ca, const std::string& ra = "ra: {cert: ra.pem, key: ra.key}\n") {
        std::string path = dir_ + "/scepter.yaml";
        std::ofstream(path) << "store: {sqlite: db}\nca:\n  cert: ca.pem\n" << ca << ra
                            << "templates:\n  t: {key_usage: [digitalSignature]}\n"
                               "profiles:\n  default:\n    template: t\n    challenge: {static: s3cret}\n";
        return path;
    }

    std::string error_of(const std::string& ca, const std::string& ra = "ra: {cert: ra.pem, key: ra.key}\n") {
        try {
            load_config(write(ca, ra));
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "no error";
    }

    std::string dir_;
};

TEST_F(TokenKeyConfig, UriWithModuleAndPinFileIsATokenKey) {
    Config cfg = load_config(write("  key: \"pkcs11:token=t;object=ca;type=private\"\n"
                                   "  pkcs11_module: module.so\n  key_pin_file: pin\n"));
    ASSERT_TRUE(cfg.ca_token);
    EXPECT_EQ(cfg.ca_token->uri, "pkcs11:token=t;object=ca;type=private");
    EXPECT_EQ(cfg.ca_token->module, dir_ + "/module.so");
    EXPECT_EQ(cfg.ca_token->pin_file, dir_ + "/pin");
    EXPECT_FALSE(load_config(write("  key: ca.key\n")).ca_token);
}

TEST_F(TokenKeyConfig, RefusedAtTheirKeys) {
    EXPECT_NE(error_of("  key: \"pkcs11:object=ca\"\n  key_pin_file: pin\n").find("needs ca.pkcs11_module"),
              std::string::npos);
    EXPECT_NE(error_of("  key: \"pkcs11:object=ca\"\n  pkcs11_module: module.so\n").find("needs ca.key_pin_file"),
              std::string::npos);
    std::string missing = error_of("  key: \"pkcs11:object=ca\"\n  pkcs11_module: module.so\n  key_pin_file: nope\n");
    EXPECT_NE(missing.find("key_pin_file"), std::string::npos) << missing;
    EXPECT_NE(missing.find("cannot read"), std::string::npos) << missing;
    std::string pin = error_of("  key: \"pkcs11:object=ca;pin-value=123456\"\n  pkcs11_module: module.so\n"
                               "  key_pin_file: pin\n");
    EXPECT_NE(pin.find("must not carry the PIN"), std::string::npos) << pin;
    EXPECT_EQ(pin.find("123456"), std::string::npos) << "the refusal repeats the PIN: " << pin;
    EXPECT_NE(error_of("  key: ca.key\n  key_pin_file: pin\n").find("goes with a ca.key that is a pkcs11: URI"),
              std::string::npos);
}

const char* const kTokenCa =
    "  key: \"pkcs11:token=t;object=ca;type=private\"\n  pkcs11_module: module.so\n  key_pin_file: pin\n";

TEST_F(TokenKeyConfig, RaKeysInTheTokenUseTheCaKeysModuleAndPin) {
    Config one = load_config(write(kTokenCa, "ra: {cert: ra.pem, key: \"pkcs11:token=t;object=ra\"}\n"));
    ASSERT_TRUE(one.ra_signing_token);
    EXPECT_FALSE(one.ra_encryption_token);
    EXPECT_EQ(one.ra_signing_token->uri, "pkcs11:token=t;object=ra");
    EXPECT_EQ(one.ra_signing_token->module, dir_ + "/module.so");
    EXPECT_EQ(one.ra_signing_token->pin_file, dir_ + "/pin");
    EXPECT_EQ(one.ra_signing_token->config_key, "ra.key");
    EXPECT_EQ(one.ra_signing->key, "pkcs11:token=t;object=ra");
    EXPECT_EQ(one.ra_signing->cert, dir_ + "/ra.pem");

    Config two = load_config(write(kTokenCa,
                                   "ra:\n  signing: {cert: ra.pem, key: ra.key}\n"
                                   "  encryption: {cert: ra.pem, key: \"pkcs11:object=enc;type=private\"}\n"));
    EXPECT_FALSE(two.ra_signing_token);
    ASSERT_TRUE(two.ra_encryption_token);
    EXPECT_EQ(two.ra_encryption_token->config_key, "ra.encryption.key");
    EXPECT_EQ(two.ra_signing->key, dir_ + "/ra.key");
    EXPECT_FALSE(load_config(write(kTokenCa)).ra_signing_token);  // RA key files beside a token CA key
}

TEST_F(TokenKeyConfig, RaKeyUrisRefusedAtTheirKeys) {
    std::string no_ca_token =
        error_of("  key: ca.key\n", "ra:\n  signing: {cert: ra.pem, key: \"pkcs11:object=ra\"}\n");
    EXPECT_NE(no_ca_token.find("ra.signing.key"), std::string::npos) << no_ca_token;
    EXPECT_NE(no_ca_token.find("ca.key must be a pkcs11: URI too"), std::string::npos) << no_ca_token;
    std::string pin = error_of(kTokenCa, "ra: {cert: ra.pem, key: \"pkcs11:object=ra;pin-value=123456\"}\n");
    EXPECT_NE(pin.find("ra.key"), std::string::npos) << pin;
    EXPECT_NE(pin.find("must not carry the PIN"), std::string::npos) << pin;
    EXPECT_EQ(pin.find("123456"), std::string::npos) << "the refusal repeats the PIN: " << pin;
    std::string cert = error_of(kTokenCa, "ra: {cert: nope.pem, key: \"pkcs11:object=ra\"}\n");
    EXPECT_NE(cert.find("ra.cert"), std::string::npos) << cert;
    std::string type = error_of(kTokenCa, "ra:\n  signing: {cert: ra.pem, key: ra.key}\n"
                                          "  encryption: {cert: ra.pem, key: \"pkcs11:object=ra;type=public\"}\n");
    EXPECT_NE(type.find("ra.encryption.key"), std::string::npos) << type;
    EXPECT_NE(type.find("type must be private"), std::string::npos) << type;
}

TEST_F(TokenKeyConfig, LoadFailsWithAReasonAndWithoutThePin) {
    try {
        load_token_key(TokenKeySettings{"pkcs11:object=ca", dir_ + "/module.so", dir_ + "/pin"});
        FAIL() << "a module that is not one loaded";
    } catch (const std::runtime_error& e) {
        std::string what = e.what();
        EXPECT_EQ(what.rfind("ca.key (pkcs11): ", 0), 0u) << what;
        EXPECT_EQ(what.find("123456"), std::string::npos) << what;
    }
    try {
        load_token_key(TokenKeySettings{"pkcs11:object=ra", dir_ + "/module.so", dir_ + "/pin", "ra.signing.key"});
        FAIL() << "a module that is not one loaded";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("ra.signing.key (pkcs11): ", 0), 0u) << e.what();
    }
    try {
        load_token_key(TokenKeySettings{"pkcs11:object=ca", dir_ + "/module.so", dir_ + "/no-pin"});
        FAIL() << "a PIN file that does not exist";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot read the PIN"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace scepter
