// issue_certificate: every extension the template decides, the SANs copied
// entry by entry, the serial, the validity and the record kept of it, read
// back from the signed certificate with OpenSSL.
#include "ca/issuer.h"

#include "ca_fixture.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace scepter {
namespace {

using test::CsrSpec;

constexpr long kDay = 86400;
const char* const kCrlUrl = "http://crl.example/ca.crl";

class Issuer : public ::testing::Test {
   protected:
    static void SetUpTestSuite() {
        ca_key_ = test::rsa_key();
        ca_ = new KeyPair(test::make_ca(ca_key_.get(), "Unit CA", 3650 * kDay));
    }
    static void TearDownTestSuite() {
        delete ca_;
        ca_key_.reset();
    }

    void SetUp() override {
        t_.san_allowed = {"dns", "email", "uri", "ip", "upn"};
        t_.extended_key_usage = {"clientAuth"};
    }

    Issued issue(const CsrSpec& spec, const std::string& crl_url = "") {
        csr_ = test::csr(device_.get(), spec);
        return issue_certificate(t_, csr_, grant_names(t_, csr_), *ca_, crl_url);
    }

    // The issued certificate's SANs.
    static ossl::GeneralNames sans_of(X509* x) {
        return ossl::GeneralNames(
            static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
    }

    // The certificate as the device receives it: the issued X509 object has
    // its key bytes copied in raw and no decoded key until it is re-read.
    static ossl::X509Ptr as_sent(const Issued& out) {
        const unsigned char* p = out.record.der.data();
        return ossl::X509Ptr(d2i_X509(nullptr, &p, long(out.record.der.size())));
    }

    static inline ossl::PKey ca_key_;
    static inline KeyPair* ca_ = nullptr;
    ossl::PKey device_ = test::ec_key();
    Template t_ = test::make_template("Device");
    CsrInfo csr_;
};

TEST_F(Issuer, LeafOnlyEvenWhenTheCsrAsksForCa) {
    t_.reject_excess = false;  // a dropping template lets the CSR through
    CsrSpec spec;
    spec.ask_for_ca = true;
    Issued out = issue(spec);
    EXPECT_EQ(test::ext_text(out.cert.get(), NID_basic_constraints), "CA:FALSE");
    EXPECT_TRUE(test::ext_critical(out.cert.get(), NID_basic_constraints));
    EXPECT_EQ(X509_check_ca(out.cert.get()), 0);
}

TEST_F(Issuer, KeyUsageComesFromTheTemplateNotTheCsr) {
    CsrSpec spec;
    // (keyCertSign and cRLSign a rejecting template refuses: GrantNames)
    spec.key_usage = "nonRepudiation,dataEncipherment,keyAgreement";
    Issued out = issue(spec);
    EXPECT_EQ(test::ext_text(out.cert.get(), NID_key_usage), "Digital Signature, Key Encipherment");
    EXPECT_TRUE(test::ext_critical(out.cert.get(), NID_key_usage));
    t_.key_usage = {"digitalSignature"};
    EXPECT_EQ(test::ext_text(issue(spec).cert.get(), NID_key_usage), "Digital Signature");
}

TEST_F(Issuer, ExtendedKeyUsageComesFromTheTemplateNotTheCsr) {
    CsrSpec spec;
    spec.extended_key_usage = "codeSigning";
    t_.extended_key_usage = {"clientAuth", "serverAuth"};
    Issued out = issue(spec);
    EXPECT_EQ(test::ext_text(out.cert.get(), NID_ext_key_usage),
              "TLS Web Client Authentication, TLS Web Server Authentication");
    EXPECT_FALSE(test::ext_critical(out.cert.get(), NID_ext_key_usage));
    t_.extended_key_usage.clear();
    EXPECT_EQ(test::ext_text(issue(spec).cert.get(), NID_ext_key_usage), "");
}

TEST_F(Issuer, SubjectKeyIdIsTheKeysHashAndAuthorityKeyIdTheCas) {
    Issued out = issue({});
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ASSERT_EQ(X509_pubkey_digest(out.cert.get(), EVP_sha1(), md, &len), 1);
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(out.cert.get());
    ASSERT_NE(ski, nullptr);
    EXPECT_EQ(Bytes(ski->data, ski->data + ski->length), Bytes(md, md + len));
    const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(out.cert.get());
    ASSERT_NE(aki, nullptr);
    EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca_->cert.get())), 0);
}

TEST_F(Issuer, SansAreCopiedEntryByEntryFromTheCsr) {
    CsrSpec spec;
    spec.sans = "DNS:d.example,email:user@example.com,URI:https://d.example/x,IP:192.0.2.1,"
                "IP:2001:db8::1,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@corp";
    Issued out = issue(spec);
    ossl::GeneralNames issued = sans_of(out.cert.get());
    ossl::GeneralNames requested = requested_sans(csr_.req.get());
    ASSERT_TRUE(issued && requested);
    ASSERT_EQ(sk_GENERAL_NAME_num(issued.get()), 6);
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(GENERAL_NAME_cmp(sk_GENERAL_NAME_value(issued.get(), i), sk_GENERAL_NAME_value(requested.get(), i)),
                  0)
            << "entry " << i;
}

TEST_F(Issuer, DroppedSansAreLeftOutAndNoSanLeavesNoExtension) {
    t_.reject_excess = false;
    t_.san_allowed = {"email"};
    CsrSpec spec;
    spec.sans = "DNS:d.example,email:user@example.com,DNS:e.example";
    ossl::GeneralNames issued = sans_of(issue(spec).cert.get());
    ASSERT_TRUE(issued);
    ASSERT_EQ(sk_GENERAL_NAME_num(issued.get()), 1);
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(issued.get(), 0);
    ASSERT_EQ(gn->type, GEN_EMAIL);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.rfc822Name))),
              "user@example.com");
    t_.san_allowed.clear();
    EXPECT_EQ(X509_get_ext_by_NID(issue(spec).cert.get(), NID_subject_alt_name, -1), -1);
}

TEST_F(Issuer, PolicySansAreOneEntryEachOfTheirType) {
    csr_ = test::csr(device_.get());
    GrantedNames names = grant_names(t_, csr_);
    // A comma in the value must not smuggle in a second name.
    names.sans = rewritten_sans(t_, {{"dns", "a.example,DNS:evil.example"}, {"ip", "192.0.2.5"}, {"upn", "u@corp"}});
    Issued out = issue_certificate(t_, csr_, names, *ca_, "");
    ossl::GeneralNames issued = sans_of(out.cert.get());
    ASSERT_TRUE(issued);
    ASSERT_EQ(sk_GENERAL_NAME_num(issued.get()), 3);
    const GENERAL_NAME* dns = sk_GENERAL_NAME_value(issued.get(), 0);
    ASSERT_EQ(dns->type, GEN_DNS);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns->d.dNSName))),
              "a.example,DNS:evil.example");
    const GENERAL_NAME* ip = sk_GENERAL_NAME_value(issued.get(), 1);
    ASSERT_EQ(ip->type, GEN_IPADD);
    EXPECT_EQ(Bytes(ip->d.iPAddress->data, ip->d.iPAddress->data + ip->d.iPAddress->length),
              (Bytes{192, 0, 2, 5}));
    const GENERAL_NAME* upn = sk_GENERAL_NAME_value(issued.get(), 2);
    ASSERT_EQ(upn->type, GEN_OTHERNAME);
    EXPECT_EQ(OBJ_obj2nid(upn->d.otherName->type_id), NID_ms_upn);
    ASSERT_EQ(upn->d.otherName->value->type, V_ASN1_UTF8STRING);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(upn->d.otherName->value->value.utf8string))),
              "u@corp");
}

// The AD CS template name extension's value: a BMPString, read as UTF-8.
std::string template_name_of(X509* x) {
    ossl::Asn1Object oid(OBJ_txt2obj("1.3.6.1.4.1.311.20.2", 1));
    int pos = X509_get_ext_by_OBJ(x, oid.get(), -1);
    if (pos < 0) return "";
    X509_EXTENSION* ext = X509_get_ext(x, pos);
    EXPECT_EQ(X509_EXTENSION_get_critical(ext), 0);
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    const unsigned char* p = data->data;
    ossl::Asn1Type value(d2i_ASN1_TYPE(nullptr, &p, data->length));
    if (!value || value->type != V_ASN1_BMPSTRING) return "not a BMPString";
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, value->value.bmpstring);
    ossl::Buffer<unsigned char> owned(utf8);
    return std::string(reinterpret_cast<char*>(utf8), std::size_t(len));
}

TEST_F(Issuer, TemplateNameExtensionNamesTheTemplate) {
    t_.name = "Wi-Fi Geräte";
    EXPECT_EQ(template_name_of(issue({}).cert.get()), "Wi-Fi Geräte");
    t_.template_name_extension = false;
    EXPECT_EQ(template_name_of(issue({}).cert.get()), "");
}

TEST_F(Issuer, CrlDistributionPointOnlyWhenConfigured) {
    Issued out = issue({}, kCrlUrl);
    using DistPoints = ossl::Owned<CRL_DIST_POINTS, CRL_DIST_POINTS_free>;
    DistPoints dps(static_cast<CRL_DIST_POINTS*>(
        X509_get_ext_d2i(out.cert.get(), NID_crl_distribution_points, nullptr, nullptr)));
    ASSERT_TRUE(dps);
    ASSERT_EQ(sk_DIST_POINT_num(dps.get()), 1);
    const DIST_POINT_NAME* name = sk_DIST_POINT_value(dps.get(), 0)->distpoint;
    ASSERT_TRUE(name != nullptr && name->type == 0);  // fullName
    ASSERT_EQ(sk_GENERAL_NAME_num(name->name.fullname), 1);
    const GENERAL_NAME* uri = sk_GENERAL_NAME_value(name->name.fullname, 0);
    ASSERT_EQ(uri->type, GEN_URI);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri->d.uniformResourceIdentifier))),
              kCrlUrl);
    EXPECT_EQ(X509_get_ext_by_NID(issue({}).cert.get(), NID_crl_distribution_points, -1), -1);
}

TEST_F(Issuer, SerialIsARandomPositive128BitNumberRecordedInHex) {
    Issued a = issue({}), b = issue({});
    ossl::Bignum serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(a.cert.get()), nullptr));
    ASSERT_TRUE(serial);
    EXPECT_FALSE(BN_is_negative(serial.get()));
    EXPECT_FALSE(BN_is_zero(serial.get()));
    EXPECT_LE(BN_num_bits(serial.get()), 128);
    ossl::Buffer<char> hex(BN_bn2hex(serial.get()));
    EXPECT_EQ(a.record.serial_hex, hex.get());
    EXPECT_NE(a.record.serial_hex, b.record.serial_hex);
}

TEST_F(Issuer, ValidityIsTheTemplatesBackdatedFiveMinutes) {
    t_.validity_days = 30;
    Issued out = issue({});
    EXPECT_NEAR(test::seconds_from_now(X509_get0_notBefore(out.cert.get())), -300, 5);
    EXPECT_NEAR(test::seconds_from_now(X509_get0_notAfter(out.cert.get())), 30 * kDay, 5);
    EXPECT_NEAR(double(out.record.not_after - out.record.not_before), 30 * kDay + 300, 1);
}

TEST_F(Issuer, ValidityNeverOutlivesTheCa) {
    KeyPair short_ca = test::make_ca(ca_key_.get(), "Short CA", 10 * kDay);
    t_.validity_days = 365;
    csr_ = test::csr(device_.get());
    Issued out = issue_certificate(t_, csr_, grant_names(t_, csr_), short_ca, "");
    EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(out.cert.get()), X509_get0_notAfter(short_ca.cert.get())), 0);
}

TEST_F(Issuer, SignedByTheCaOverTheCsrsKeyAndVerifiesAsAChain) {
    CsrSpec spec;
    spec.subject = {{"CN", "device-9"}, {"O", "Example"}};
    ossl::X509Ptr cert = as_sent(issue(spec));
    ASSERT_TRUE(cert);
    EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca_->cert.get())), 0);
    EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(ca_->cert.get())), 1);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), device_.get()), 1);
    EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
    ossl::X509Store store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), ca_->cert.get());
    ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
    ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr), 1);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
    EXPECT_EQ(X509_verify_cert(ctx.get()), 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST_F(Issuer, RsaDeviceKeyIsCopiedExactly) {
    device_ = test::rsa_key(2048);
    ossl::X509Ptr cert = as_sent(issue({}));
    ASSERT_TRUE(cert);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), device_.get()), 1);
    EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(ca_->cert.get())), 1);
}

TEST_F(Issuer, SubjectHoldsOnlyTheGrantedAttributes) {
    t_.reject_excess = false;
    t_.subject.allowed = {"CN", "O"};
    CsrSpec spec;
    spec.subject = {{"O", "Example"}, {"OU", "Sales"}, {"CN", "device-9"}};
    Issued out = issue(spec);
    X509_NAME* subject = X509_get_subject_name(out.cert.get());
    ASSERT_EQ(X509_NAME_entry_count(subject), 2);
    EXPECT_EQ(X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName, -1), -1);
    EXPECT_EQ(out.record.subject, "CN=device-9,O=Example");  // RFC 2253: last RDN first
}

TEST_F(Issuer, RecordDescribesTheCertificate) {
    CsrSpec spec;
    spec.sans = "DNS:d.example,email:user@example.com";
    Issued out = issue(spec);
    const IssuedCert& r = out.record;
    EXPECT_EQ(r.template_name, "Device");
    EXPECT_EQ(r.sans, "dns:d.example, email:user@example.com");
    EXPECT_EQ(r.sha1_hex, thumbprint(out.cert.get(), EVP_sha1()));
    EXPECT_EQ(r.sha256_hex, thumbprint(out.cert.get(), EVP_sha256()));
    EXPECT_EQ(r.sha256_hex.size(), 64u);
    EXPECT_NEAR(double(r.issued_at), double(std::time(nullptr)), 5);
    const unsigned char* p = r.der.data();
    ossl::X509Ptr parsed(d2i_X509(nullptr, &p, long(r.der.size())));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(X509_cmp(parsed.get(), out.cert.get()), 0);
}

// A policy sees the CSR's SANs as text and may hand them back unchanged:
// an IP address must read the way a policy writes one.
TEST_F(Issuer, CsrIpSanReadsAsAnAddressAPolicyCanWriteBack) {
    CsrSpec spec;
    spec.sans = "IP:192.0.2.1,IP:2001:db8::1";
    csr_ = test::csr(device_.get(), spec);
    ASSERT_EQ(csr_.sans.size(), 2u);
    EXPECT_EQ(csr_.sans[0].value, "192.0.2.1");
    EXPECT_EQ(csr_.sans[1].value, "2001:db8::1");
    GrantedNames names = grant_names(t_, csr_);
    names.sans = rewritten_sans(t_, {{csr_.sans[0].type, csr_.sans[0].value}, {csr_.sans[1].type, csr_.sans[1].value}});
    Issued out = issue_certificate(t_, csr_, names, *ca_, "");
    EXPECT_EQ(out.record.sans, "ip:192.0.2.1, ip:2001:db8::1");
    ossl::GeneralNames issued = sans_of(out.cert.get());
    ossl::GeneralNames requested = requested_sans(csr_.req.get());
    ASSERT_TRUE(issued && requested);
    ASSERT_EQ(sk_GENERAL_NAME_num(issued.get()), 2);
    for (int i = 0; i < 2; ++i)
        EXPECT_EQ(GENERAL_NAME_cmp(sk_GENERAL_NAME_value(issued.get(), i), sk_GENERAL_NAME_value(requested.get(), i)), 0);
}


TEST(SidExtension, EncodesGeneralNamesWithTheObjectSidOtherName) {
    // SEQUENCE { [0] { OID 1.3.6.1.4.1.311.25.2.1, [0] { OCTET STRING "S-1-5-18" } } }
    Bytes want = {0x30, 0x1A, 0xA0, 0x18, 0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x19, 0x02, 0x01,
                  0xA0, 0x0A, 0x04, 0x08, 'S', '-', '1', '-', '5', '-', '1', '8'};
    EXPECT_EQ(sid_extension_der("S-1-5-18"), want);
}

TEST_F(Issuer, SidExtensionOnlyWhenGrantedAndNotCritical) {
    CsrSpec spec;
    // "tag:microsoft.com,2022-09-14:sid:S-1-5-18" as one URI (its comma would split a conf list)
    spec.sans = "DER:302B86297461673A6D6963726F736F66742E636F6D2C323032322D30392D31343A7369643A532D312D352D3138";
    t_.sid_extension = Template::SidRule::allow;
    Issued out = issue(spec);
    ossl::Asn1Object oid(OBJ_txt2obj("1.3.6.1.4.1.311.25.2", 1));
    int at = X509_get_ext_by_OBJ(out.cert.get(), oid.get(), -1);
    ASSERT_GE(at, 0);
    X509_EXTENSION* ext = X509_get_ext(out.cert.get(), at);
    EXPECT_EQ(X509_EXTENSION_get_critical(ext), 0);
    const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
    Bytes der(ASN1_STRING_get0_data(v), ASN1_STRING_get0_data(v) + ASN1_STRING_length(v));
    EXPECT_EQ(der, sid_extension_der("S-1-5-18"));
    t_.sid_extension = Template::SidRule::forbid;
    t_.reject_excess = false;
    Issued plain = issue(spec);
    EXPECT_LT(X509_get_ext_by_OBJ(plain.cert.get(), oid.get(), -1), 0);
}

}  // namespace
}  // namespace scepter
