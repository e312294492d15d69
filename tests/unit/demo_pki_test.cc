// `scepter init`: the demo PKI it writes (key usages, permissions, chain)
// and the configuration that goes with it.
#include "../../cli/demo_pki.h"

#include "scepter/cert_serial.h"
#include "scepter/config.h"
#include "scepter/ossl.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>

namespace scepter::cli {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

mode_t current_umask() {
    mode_t old = ::umask(0);
    ::umask(old);
    return old;
}

ossl::X509Ptr read_cert(const fs::path& p) {
    ossl::Bio bio(BIO_new_file(p.c_str(), "r"));
    EXPECT_TRUE(bio) << p;
    if (!bio) return nullptr;
    return ossl::X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

ossl::PKey read_key(const fs::path& p) {
    ossl::Bio bio(BIO_new_file(p.c_str(), "r"));
    EXPECT_TRUE(bio) << p;
    if (!bio) return nullptr;
    return ossl::PKey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool is_critical(X509* cert, int nid) {
    int pos = X509_get_ext_by_NID(cert, nid, -1);
    return pos >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, pos)) == 1;
}

// RSA key generation dominates: one PKI for the read-only tests, a fresh
// one only where a test rewrites it.
class DemoPkiTest : public ::testing::Test {
   protected:
    static void SetUpTestSuite() {
        char tmpl[] = "/tmp/scepter-init-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = fs::path(tmpl) / "pki";  // init creates the directory itself
        result_ = write_demo_pki({dir_.string(), "Unit Test CA", false});
    }
    static void TearDownTestSuite() { fs::remove_all(dir_.parent_path()); }

    void SetUp() override {
        ca_ = read_cert(dir_ / "ca.pem");
        ra_sign_ = read_cert(dir_ / "ra-sign.pem");
        ra_enc_ = read_cert(dir_ / "ra-enc.pem");
        ASSERT_TRUE(ca_ && ra_sign_ && ra_enc_);
    }

    static fs::path dir_;
    static DemoPkiResult result_;
    ossl::X509Ptr ca_, ra_sign_, ra_enc_;
};

fs::path DemoPkiTest::dir_;
DemoPkiResult DemoPkiTest::result_;

TEST_F(DemoPkiTest, ResultNamesTheFiles) {
    EXPECT_EQ(result_.config_path, (dir_ / "scepter.yaml").string());
    EXPECT_EQ(result_.ca_cert_path, (dir_ / "ca.pem").string());
    for (const auto& name : demo_pki_files()) EXPECT_TRUE(fs::exists(dir_ / name)) << name;
    EXPECT_TRUE(fs::is_directory(dir_ / "state"));
}

TEST_F(DemoPkiTest, Permissions) {
    for (const char* key : {"ca.key", "ra-sign.key", "ra-enc.key", "scepter.yaml"}) {
        EXPECT_EQ(mode_of(dir_ / key), mode_t(0600)) << key;
    }
    mode_t mask = current_umask();
    for (const char* cert : {"ca.pem", "ra-sign.pem", "ra-enc.pem"}) {
        EXPECT_EQ(mode_of(dir_ / cert), mode_t(0644 & ~mask)) << cert;
    }
    EXPECT_EQ(mode_of(dir_ / "state"), mode_t(0750 & ~mask));
}

TEST_F(DemoPkiTest, CaIsSelfSignedCa) {
    EXPECT_EQ(X509_check_ca(ca_.get()), 1);
    EXPECT_TRUE(is_critical(ca_.get(), NID_basic_constraints));
    EXPECT_EQ(X509_get_key_usage(ca_.get()), std::uint32_t(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    EXPECT_NE(X509_get0_subject_key_id(ca_.get()), nullptr);
    EXPECT_EQ(X509_verify(ca_.get(), X509_get0_pubkey(ca_.get())), 1);
    EXPECT_EQ(X509_get_signature_nid(ca_.get()), NID_sha256WithRSAEncryption);
    EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(ca_.get())), 2048);
}

TEST_F(DemoPkiTest, RaCertificatesHaveNdesKeyUsages) {
    EXPECT_EQ(X509_get_key_usage(ra_sign_.get()), std::uint32_t(KU_DIGITAL_SIGNATURE));
    EXPECT_EQ(X509_get_key_usage(ra_enc_.get()),
              std::uint32_t(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
    for (X509* ra : {ra_sign_.get(), ra_enc_.get()}) {
        EXPECT_TRUE(is_critical(ra, NID_key_usage));
        EXPECT_EQ(X509_check_ca(ra), 0);
        EXPECT_NE(X509_get0_subject_key_id(ra), nullptr);
        EXPECT_NE(X509_get0_authority_key_id(ra), nullptr);
        EXPECT_EQ(X509_get_signature_nid(ra), NID_sha256WithRSAEncryption);
    }
}

TEST_F(DemoPkiTest, RaCertificatesVerifyAgainstCa) {
    EVP_PKEY* ca_key = X509_get0_pubkey(ca_.get());
    ossl::X509Store roots(X509_STORE_new());
    ASSERT_EQ(X509_STORE_add_cert(roots.get(), ca_.get()), 1);
    for (X509* ra : {ra_sign_.get(), ra_enc_.get()}) {
        EXPECT_EQ(X509_verify(ra, ca_key), 1);
        EXPECT_EQ(X509_check_issued(ca_.get(), ra), X509_V_OK);  // names and AKI match
        ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
        ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), roots.get(), ra, nullptr), 1);
        EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
            << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    }
    // Each other's signature must not verify: the keys are distinct.
    EXPECT_NE(X509_verify(ra_sign_.get(), X509_get0_pubkey(ra_enc_.get())), 1);
}

TEST_F(DemoPkiTest, KeysMatchCertificates) {
    for (const char* base : {"ca", "ra-sign", "ra-enc"}) {
        auto cert = read_cert(dir_ / (std::string(base) + ".pem"));
        auto key = read_key(dir_ / (std::string(base) + ".key"));
        ASSERT_TRUE(cert && key) << base;
        EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1) << base;
    }
}

TEST_F(DemoPkiTest, SerialsAre128BitRandom) {
    std::set<std::string> seen;
    for (X509* c : {ca_.get(), ra_sign_.get(), ra_enc_.get()}) {
        ossl::Bignum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), nullptr));
        ASSERT_TRUE(bn);
        EXPECT_LE(BN_num_bits(bn.get()), 128);
        EXPECT_GT(BN_num_bits(bn.get()), 64);  // fails with probability 2^-64
        seen.insert(serial_hex(bn.get()));
    }
    EXPECT_EQ(seen.size(), 3u);
}

TEST_F(DemoPkiTest, ChallengeIsRandomAlphanumericAndInTheConfig) {
    EXPECT_GE(result_.challenge.size(), 22u);  // 22 * log2(62) > 128 bits
    EXPECT_EQ(result_.challenge.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
              std::string::npos);
    EXPECT_NE(read_text(dir_ / "scepter.yaml").find("static: " + result_.challenge + "\n"),
              std::string::npos);
    EXPECT_NE(random_challenge(), random_challenge());
    EXPECT_GE(random_challenge(256).size(), 43u);
}

TEST(DemoPkiConfig, CrlUrlBecomesTheDistributionPoint) {
    std::string with = demo_config_yaml("c", "http://scep.example:8080/scep/ca.crl");
    EXPECT_NE(with.find("  path: /scep/ca.crl\n  distribution_url: http://scep.example:8080/scep/ca.crl\n"),
              std::string::npos) << with;
    EXPECT_EQ(demo_config_yaml("c").find("distribution_url: "), std::string::npos);
}

TEST(DemoPkiRewrite, RefusesWithoutForceAndForceKeepsKeysPrivate) {
    char tmpl[] = "/tmp/scepter-init-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    fs::path dir = tmpl;
    auto first = write_demo_pki({dir.string(), "First CA", false});
    std::string before = read_text(dir / "ca.pem");
    EXPECT_THROW(write_demo_pki({dir.string(), "Other CA", false}), std::runtime_error);
    EXPECT_EQ(read_text(dir / "ca.pem"), before);

    // A key someone loosened must come back 0600: replaced, not truncated.
    ASSERT_EQ(::chmod((dir / "ca.key").c_str(), 0644), 0);
    auto again = write_demo_pki({dir.string(), "Other CA", true});
    EXPECT_NE(read_text(dir / "ca.pem"), before);
    EXPECT_EQ(mode_of(dir / "ca.key"), mode_t(0600));
    EXPECT_NE(again.challenge, first.challenge);
    fs::remove_all(dir);
}

TEST_F(DemoPkiTest, ConfigLoadsWithNdesProfiles) {
    Config cfg = load_config(result_.config_path);
    EXPECT_EQ(cfg.templates.size(), 3u);
    EXPECT_EQ(cfg.templates.at("signature").key_usage, std::vector<std::string>{"digitalSignature"});
    EXPECT_EQ(cfg.templates.at("encryption").key_usage, std::vector<std::string>{"keyEncipherment"});
    EXPECT_EQ(cfg.templates.at("general_purpose").extended_key_usage,
              (std::vector<std::string>{"clientAuth", "serverAuth"}));
    const Profile& strict = cfg.profiles.at("default");
    ASSERT_TRUE(strict.by_key_usage.has_value());
    EXPECT_EQ(strict.by_key_usage->encryption, "encryption");
    EXPECT_FALSE(strict.allow_legacy_clients);
    EXPECT_EQ(strict.ciphers.count(ContentCipher::des), 0u);
    EXPECT_FALSE(strict.challenge.static_sha256.empty());
    const Profile& legacy = cfg.profiles.at("legacy");
    EXPECT_TRUE(legacy.allow_legacy_clients);
    EXPECT_EQ(legacy.ciphers.count(ContentCipher::des), 1u);
    EXPECT_EQ(legacy.digests.count(Digest::sha1), 1u);
    ASSERT_TRUE(cfg.ra_encryption.has_value());
    EXPECT_EQ(fs::path(cfg.sqlite_path).filename(), "scepter.db");
}

}  // namespace
}  // namespace scepter::cli
