// The CA's key type: `scepter init --ca-key` for each choice (the key, the
// signature of ca.pem and of the RA certificates, which stay RSA-2048), the
// values it refuses, what load_ca_material accepts as a CA key, and the
// digest issued certificates are signed with.
#include "../../cli/cli.h"
#include "../../cli/demo_pki.h"

#include "ca/ca_material.h"
#include "ca/issuer.h"
#include "ca_fixture.h"
#include "scepter/config.h"
#include "scepter/ossl.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>

namespace scepter::cli {
namespace {

namespace fs = std::filesystem;

ossl::X509Ptr read_cert(const fs::path& p) {
    ossl::Bio bio(BIO_new_file(p.c_str(), "r"));
    return ossl::X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

ossl::PKey read_key(const fs::path& p) {
    ossl::Bio bio(BIO_new_file(p.c_str(), "r"));
    return ossl::PKey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

std::string group_of(EVP_PKEY* key) {
    char name[64] = {};
    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, nullptr);
    return name;
}

fs::path temp_dir() {
    char tmpl[] = "/tmp/scepter-ca-key-XXXXXX";
    EXPECT_NE(mkdtemp(tmpl), nullptr);
    return tmpl;
}

struct Expected {
    const char* spec;
    int key_id;         // EVP_PKEY_RSA / EVP_PKEY_EC
    int bits;
    const char* group;  // EC only
    int signature_nid;  // of ca.pem, the RA certificates and issued certificates
};

class CaKeyChoice : public ::testing::TestWithParam<Expected> {};

TEST_P(CaKeyChoice, InitWritesThatKeyAndSignsWithIt) {
    const Expected& e = GetParam();
    fs::path dir = temp_dir();
    DemoPkiOptions options{(dir / "pki").string()};
    options.ca_key = e.spec;
    DemoPkiResult result = write_demo_pki(options);

    ossl::PKey key = read_key(dir / "pki" / "ca.key");
    ossl::X509Ptr ca = read_cert(dir / "pki" / "ca.pem");
    ASSERT_TRUE(key && ca);
    EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), e.key_id);
    EXPECT_EQ(EVP_PKEY_get_bits(key.get()), e.bits);
    if (e.group != nullptr) EXPECT_EQ(group_of(key.get()), e.group);
    EXPECT_EQ(X509_check_private_key(ca.get(), key.get()), 1);
    EXPECT_EQ(X509_get_signature_nid(ca.get()), e.signature_nid);
    EXPECT_EQ(X509_verify(ca.get(), X509_get0_pubkey(ca.get())), 1);

    // The RA pairs stay RSA-2048: clients encrypt to them, and they sign CertReps.
    for (const char* ra : {"ra-sign.pem", "ra-enc.pem"}) {
        ossl::X509Ptr cert = read_cert(dir / "pki" / ra);
        ASSERT_TRUE(cert) << ra;
        EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get())), EVP_PKEY_RSA) << ra;
        EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(cert.get())), 2048) << ra;
        EXPECT_EQ(X509_get_signature_nid(cert.get()), e.signature_nid) << ra;
        EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(ca.get())), 1) << ra;
    }

    // The configuration loads, and what the CA issues is signed the same way.
    CaMaterial m = load_ca_material(load_config(result.config_path));
    EXPECT_EQ(EVP_MD_get_type(ca_signature_digest(m.ca.key.get())),
              e.key_id == EVP_PKEY_EC && e.bits == 384 ? NID_sha384 : NID_sha256);
    ossl::PKey device = test::ec_key();
    CsrInfo csr = test::csr(device.get());
    Template t = test::make_template("Device");
    Issued issued = issue_certificate(t, csr, grant_names(t, csr), m.ca, "");
    EXPECT_EQ(X509_get_signature_nid(issued.cert.get()), e.signature_nid);
    EXPECT_EQ(X509_verify(issued.cert.get(), X509_get0_pubkey(ca.get())), 1);
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Init, CaKeyChoice,
    ::testing::Values(Expected{"ec:P-256", EVP_PKEY_EC, 256, "prime256v1", NID_ecdsa_with_SHA256},
                      Expected{"ec:P-384", EVP_PKEY_EC, 384, "secp384r1", NID_ecdsa_with_SHA384},
                      Expected{"rsa:2048", EVP_PKEY_RSA, 2048, nullptr, NID_sha256WithRSAEncryption},
                      Expected{"rsa:3072", EVP_PKEY_RSA, 3072, nullptr, NID_sha256WithRSAEncryption},
                      Expected{"rsa:4096", EVP_PKEY_RSA, 4096, nullptr, NID_sha256WithRSAEncryption}),
    [](const auto& info) {
        std::string name = info.param.spec;
        for (char& c : name)
            if (c == ':' || c == '-') c = '_';
        return name;
    });

TEST(CaKeyInit, DefaultIsRsa2048) {
    EXPECT_EQ(DemoPkiOptions{}.ca_key, "rsa:2048");
    EXPECT_EQ(ca_key_choices(), "ec:P-256|ec:P-384|rsa:2048|rsa:3072|rsa:4096");
}

TEST(CaKeyInit, UnknownValuesAreUsageErrorsBeforeAnyFileIsWritten) {
    fs::path dir = temp_dir();
    for (const char* bad : {"ec:P-192", "rsa:1024", "dsa:2048", "ec:p-256", "rsa", "RSA:2048", ""}) {
        try {
            run_init({(dir / "pki").string(), "--ca-key", bad});
            ADD_FAILURE() << bad << " was accepted";
        } catch (const UsageError& e) {
            EXPECT_EQ(e.command(), "init");
            EXPECT_EQ(std::string(e.what()), std::string("--ca-key must be one of "
                                                         "ec:P-256|ec:P-384|rsa:2048|rsa:3072|rsa:4096 (got '") +
                                                 bad + "')");
        }
        EXPECT_FALSE(fs::exists(dir / "pki")) << bad;
    }
    // The library refuses it too, for callers that skip the CLI.
    DemoPkiOptions options{(dir / "pki").string()};
    options.ca_key = "ec:P-192";
    EXPECT_THROW(write_demo_pki(options), std::runtime_error);
    EXPECT_FALSE(fs::exists(dir / "pki"));
    fs::remove_all(dir);
}

// A CA key of one's own on P-521 (init does not offer it, load accepts it):
// SHA-512, never a hash weaker than the curve.
TEST(CaKeyDigest, P521SignsWithSha512) {
    ossl::PKey key(EVP_EC_gen("P-521"));
    ASSERT_TRUE(key);
    EXPECT_EQ(EVP_MD_get_type(ca_signature_digest(key.get())), NID_sha512);
    KeyPair ca = test::make_ca(key.get(), "P-521 CA", 86400);
    ossl::PKey device = test::ec_key();
    CsrInfo csr = test::csr(device.get());
    Template t = test::make_template("Device");
    Issued issued = issue_certificate(t, csr, grant_names(t, csr), ca, "");
    EXPECT_EQ(X509_get_signature_nid(issued.cert.get()), NID_ecdsa_with_SHA512);
    EXPECT_EQ(X509_verify(issued.cert.get(), key.get()), 1);
}

// load_ca_material on variants of an EC demo PKI.
class CaKeyLoad : public ::testing::Test {
   protected:
    static void SetUpTestSuite() {
        dir_ = new fs::path(temp_dir());
        DemoPkiOptions options{dir_->string()};
        options.ca_key = "ec:P-256";
        write_demo_pki(options);
    }
    static void TearDownTestSuite() {
        fs::remove_all(*dir_);
        delete dir_;
    }

    static std::string load_error(const std::string& ca, const std::string& ra) {
        std::string path = (*dir_ / "variant.yaml").string();
        std::ofstream(path) << "store: {sqlite: state/v.db}\n"
                            << "ca: {" << ca << "}\n"
                            << ra << "templates: {t: {key_usage: [digitalSignature]}}\n"
                                     "profiles: {default: {template: t, challenge: {static: x}}}\n";
        try {
            load_ca_material(load_config(path));
            return "";
        } catch (const ConfigError& e) {
            return e.what();
        }
    }

    static inline fs::path* dir_ = nullptr;
};

constexpr const char* kRas = "ra: {signing: {cert: ra-sign.pem, key: ra-sign.key}, "
                             "encryption: {cert: ra-enc.pem, key: ra-enc.key}}\n";

TEST_F(CaKeyLoad, EcCaWithRsaRasLoads) { EXPECT_EQ(load_error("cert: ca.pem, key: ca.key", kRas), ""); }

TEST_F(CaKeyLoad, CaKeyThatDoesNotMatchItsCertificateIsRefused) {
    std::string why = load_error("cert: ca.pem, key: ra-sign.key", kRas);
    EXPECT_NE(why.find("key 'ca.key': the key does not belong"), std::string::npos) << why;
    // Another EC P-256 key: the same type and curve, still not the CA's.
    ossl::PKey other(EVP_EC_gen("P-256"));
    ossl::Bio out(BIO_new_file((*dir_ / "other.key").c_str(), "w"));
    ASSERT_EQ(PEM_write_bio_PrivateKey(out.get(), other.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
    out.reset();
    why = load_error("cert: ca.pem, key: other.key", kRas);
    EXPECT_NE(why.find("key 'ca.key': the key does not belong"), std::string::npos) << why;
}

TEST_F(CaKeyLoad, EcCaCannotActAsItsOwnRa) {
    std::string why = load_error("cert: ca.pem, key: ca.key", "");
    EXPECT_NE(why.find("without an RA the CA key decrypts requests and must be RSA"), std::string::npos) << why;
}

TEST_F(CaKeyLoad, CaKeyOffTheNistCurvesIsRefused) {
    ossl::PKey key(EVP_EC_gen("secp256k1"));
    ASSERT_TRUE(key);
    KeyPair ca = test::make_ca(key.get(), "Koblitz CA", 86400);
    ossl::Bio cert(BIO_new_file((*dir_ / "k1.pem").c_str(), "w"));
    ossl::Bio pkey(BIO_new_file((*dir_ / "k1.key").c_str(), "w"));
    ASSERT_EQ(PEM_write_bio_X509(cert.get(), ca.cert.get()), 1);
    ASSERT_EQ(PEM_write_bio_PrivateKey(pkey.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
    cert.reset();
    pkey.reset();
    std::string why = load_error("cert: k1.pem, key: k1.key", "");
    EXPECT_NE(why.find("key 'ca.key': the CA key must be RSA or EC on P-256, P-384 or P-521"), std::string::npos)
        << why;
}

}  // namespace
}  // namespace scepter::cli
