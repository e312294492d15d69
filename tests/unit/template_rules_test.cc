// The template's decisions before anything is signed: which template a CSR
// gets (NDES's choice by key usage), which names and SANs it lets through,
// and which keys it accepts.
#include "ca/template_rules.h"

#include "ca_fixture.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace scepter {
namespace {

using test::CsrSpec;

class ChooseTemplate : public ::testing::Test {
   protected:
    void SetUp() override {
        for (const char* n : {"sig", "enc", "gp", "only"}) cfg_.templates[n] = test::make_template(n);
        by_usage_.by_key_usage = TemplateByKeyUsage{"sig", "enc", "gp"};
        single_.template_name = "only";
    }
    std::string chosen(const Profile& p, const std::string& key_usage) {
        CsrSpec spec;
        spec.key_usage = key_usage;
        return choose_template(cfg_, p, test::csr(key_.get(), spec)).name;
    }

    ossl::PKey key_ = test::ec_key();
    Config cfg_;
    Profile by_usage_, single_;
};

TEST_F(ChooseTemplate, DigitalSignatureAloneGetsTheSignatureTemplate) {
    EXPECT_EQ(chosen(by_usage_, "digitalSignature"), "sig");
    EXPECT_EQ(chosen(by_usage_, "critical,digitalSignature,nonRepudiation"), "sig");
}

TEST_F(ChooseTemplate, KeyEnciphermentAloneGetsTheEncryptionTemplate) {
    EXPECT_EQ(chosen(by_usage_, "keyEncipherment"), "enc");
    EXPECT_EQ(chosen(by_usage_, "keyEncipherment,dataEncipherment"), "enc");
}

TEST_F(ChooseTemplate, BothGetTheGeneralPurposeTemplate) {
    EXPECT_EQ(chosen(by_usage_, "digitalSignature,keyEncipherment"), "gp");
}

TEST_F(ChooseTemplate, NoKeyUsageOrNeitherBitGetsTheGeneralPurposeTemplate) {
    EXPECT_EQ(chosen(by_usage_, ""), "gp");
    EXPECT_EQ(chosen(by_usage_, "keyAgreement"), "gp");
}

TEST_F(ChooseTemplate, SingleTemplateProfileIgnoresTheKeyUsage) {
    for (const char* ku : {"", "digitalSignature", "keyEncipherment", "digitalSignature,keyEncipherment"})
        EXPECT_EQ(chosen(single_, ku), "only") << ku;
}

// The failure a call throws: its failInfo and text.
template <typename F>
std::pair<FailInfo, std::string> failure_of(F&& f) {
    try {
        f();
    } catch (const ScepFailure& e) {
        return {e.info(), e.what()};
    }
    ADD_FAILURE() << "no ScepFailure thrown";
    return {FailInfo::bad_alg, ""};
}

class GrantNames : public ::testing::Test {
   protected:
    CsrInfo csr_with(const CsrSpec& spec) { return test::csr(key_.get(), spec); }
    Template drop_template() {
        Template t = test::make_template("dropper");
        t.reject_excess = false;
        return t;
    }

    ossl::PKey key_ = test::ec_key();
    Template t_ = test::make_template("strict");
};

TEST_F(GrantNames, AllowedSubjectAttributesPassInTheirOrder) {
    CsrSpec spec;
    spec.subject = {{"C", "DE"}, {"O", "Example"}, {"CN", "device-7"}};
    GrantedNames g = grant_names(t_, csr_with(spec));
    ASSERT_EQ(g.subject.size(), 3u);
    EXPECT_EQ(g.subject[0].short_name, "C");
    EXPECT_EQ(g.subject[1].value, "Example");
    EXPECT_EQ(g.subject[2].short_name, "CN");
    EXPECT_EQ(g.subject[2].nid, NID_commonName);
    EXPECT_EQ(g.subject[2].value, "device-7");
}

TEST_F(GrantNames, ForbiddenSubjectAttributeIsRefusedByARejectingTemplate) {
    t_.subject.allowed = {"CN"};
    CsrSpec spec;
    spec.subject = {{"CN", "d"}, {"OU", "Sales"}};
    auto [info, text] = failure_of([&] { grant_names(t_, csr_with(spec)); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "template 'strict' does not allow the subject attribute OU");
}

TEST_F(GrantNames, ForbiddenSubjectAttributeIsDroppedByADroppingTemplate) {
    Template t = drop_template();
    t.subject.allowed = {"CN"};
    CsrSpec spec;
    spec.subject = {{"OU", "Sales"}, {"CN", "d"}};
    GrantedNames g = grant_names(t, csr_with(spec));
    ASSERT_EQ(g.subject.size(), 1u);
    EXPECT_EQ(g.subject[0].short_name, "CN");
}

TEST_F(GrantNames, MissingRequiredAttributeIsRefusedEvenWhenDropping) {
    Template t = drop_template();
    t.subject.allowed = {"CN", "O"};
    t.subject.required = {"O"};
    auto [info, text] = failure_of([&] { grant_names(t, csr_with({})); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "template 'dropper' requires the subject attribute O");
}

TEST_F(GrantNames, RequiredAttributeThatWasDroppedCountsAsMissing) {
    // serialNumber is required, but the CSR's is dropped as not allowed.
    Template t = drop_template();
    t.subject.allowed = {"CN"};
    t.subject.required = {"serialNumber"};
    CsrSpec spec;
    spec.subject = {{"CN", "d"}, {"serialNumber", "1234"}};
    auto [info, text] = failure_of([&] { grant_names(t, csr_with(spec)); });
    EXPECT_EQ(text, "template 'dropper' requires the subject attribute serialNumber");
}

TEST_F(GrantNames, SansOfAllowedTypesPassWithTheirPosition) {
    t_.san_allowed = {"dns", "email", "ip", "upn"};
    CsrSpec spec;
    spec.sans = "DNS:d.example,email:user@example.com,IP:192.0.2.1,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@corp";
    GrantedNames g = grant_names(t_, csr_with(spec));
    ASSERT_EQ(g.sans.size(), 4u);
    EXPECT_EQ(g.sans[0].type, "dns");
    EXPECT_EQ(g.sans[0].value, "d.example");
    EXPECT_EQ(g.sans[1].type, "email");
    EXPECT_EQ(g.sans[1].value, "user@example.com");
    EXPECT_EQ(g.sans[2].type, "ip");
    EXPECT_EQ(g.sans[3].type, "upn");
    EXPECT_EQ(g.sans[3].value, "user@corp");
    for (int i = 0; i < 4; ++i) EXPECT_EQ(g.sans[std::size_t(i)].index, i);
}

TEST_F(GrantNames, SanOfAForbiddenTypeIsRefusedByARejectingTemplate) {
    t_.san_allowed = {"dns"};
    CsrSpec spec;
    spec.sans = "DNS:d.example,email:user@example.com";
    auto [info, text] = failure_of([&] { grant_names(t_, csr_with(spec)); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "template 'strict' does not allow a SAN of type email");
}

TEST_F(GrantNames, NoSanTypesAllowedRefusesAnySan) {
    CsrSpec spec;
    spec.sans = "DNS:d.example";
    auto [info, text] = failure_of([&] { grant_names(t_, csr_with(spec)); });
    EXPECT_EQ(text, "template 'strict' does not allow a SAN of type dns");
}

TEST_F(GrantNames, SanOfAForbiddenTypeIsDroppedKeepingTheOthersPositions) {
    Template t = drop_template();
    t.san_allowed = {"dns"};
    CsrSpec spec;
    spec.sans = "email:user@example.com,DNS:d.example,otherName:1.2.3.4;UTF8:x";
    GrantedNames g = grant_names(t, csr_with(spec));
    ASSERT_EQ(g.sans.size(), 1u);
    EXPECT_EQ(g.sans[0].value, "d.example");
    EXPECT_EQ(g.sans[0].index, 1);  // the issuer copies entry 1 of the CSR's extension
}

TEST_F(GrantNames, OtherNameThatIsNotAUpnIsTypeOther) {
    t_.san_allowed = {"dns", "email", "uri", "ip", "upn"};  // every configurable type
    CsrSpec spec;
    spec.sans = "otherName:1.2.3.4;UTF8:x";
    auto [info, text] = failure_of([&] { grant_names(t_, csr_with(spec)); });
    EXPECT_EQ(text, "template 'strict' does not allow a SAN of type other");
}

TEST_F(GrantNames, AskingForCaIsRefusedByARejectingTemplate) {
    CsrSpec spec;
    spec.ask_for_ca = true;
    auto [info, text] = failure_of([&] { grant_names(t_, csr_with(spec)); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "template 'strict' issues leaf certificates only; the CSR asks for CA:TRUE");
}

TEST_F(GrantNames, AskingForCaIsIgnoredByADroppingTemplate) {
    CsrSpec spec;
    spec.ask_for_ca = true;
    GrantedNames g = grant_names(drop_template(), csr_with(spec));
    ASSERT_EQ(g.subject.size(), 1u);
    EXPECT_EQ(g.subject[0].value, "device-1");
}

TEST_F(GrantNames, AskingForOtherCaPowersIsRefusedByARejectingTemplate) {
    CsrSpec sign_certs;
    sign_certs.key_usage = "critical,digitalSignature,keyCertSign";
    EXPECT_EQ(failure_of([&] { grant_names(t_, csr_with(sign_certs)); }).second,
              "template 'strict' issues leaf certificates only; the CSR asks for keyCertSign");
    CsrSpec sign_crls;
    sign_crls.key_usage = "critical,cRLSign";
    EXPECT_EQ(failure_of([&] { grant_names(t_, csr_with(sign_crls)); }).second,
              "template 'strict' issues leaf certificates only; the CSR asks for cRLSign");
    CsrSpec constrain;
    constrain.more_extensions = {{NID_name_constraints, "critical,permitted;DNS:evil.example"}};
    EXPECT_EQ(failure_of([&] { grant_names(t_, csr_with(constrain)); }).second,
              "template 'strict' issues leaf certificates only; the CSR asks for nameConstraints");
    // a dropping template issues its own extensions only
    EXPECT_NO_THROW(grant_names(drop_template(), csr_with(constrain)));
}

TEST_F(GrantNames, ARepeatedExtensionIsRefusedWhenTheCsrIsRead) {
    // With two basicConstraints, X509V3_get_d2i reads neither: CA:TRUE in the
    // second would go unseen.
    CsrSpec spec;
    spec.more_extensions = {{NID_basic_constraints, "CA:FALSE"}, {NID_basic_constraints, "critical,CA:TRUE"}};
    auto [info, text] = failure_of([&] { csr_with(spec); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "the CSR repeats the basicConstraints extension");
    CsrSpec sans;
    sans.sans = "DNS:a.example";
    sans.more_extensions = {{NID_subject_alt_name, "DNS:b.example"}};
    EXPECT_EQ(failure_of([&] { csr_with(sans); }).second, "the CSR repeats the subjectAltName extension");
}

TEST_F(GrantNames, AMalformedExtensionIsRefusedNotTakenForAbsent) {
    CsrSpec spec;
    spec.more_extensions = {{NID_subject_alt_name, "DER:300582036162"}};  // SEQUENCE of 5 holding 4
    auto [info, text] = failure_of([&] { csr_with(spec); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "the CSR's subjectAltName extension cannot be read");
}

TEST(RewrittenSans, AllowedTypesAreBuiltFromTheirText) {
    Template t = test::make_template("t");
    t.san_allowed = {"dns", "upn"};
    auto sans = rewritten_sans(t, {{"dns", "a.example"}, {"upn", "u@corp"}});
    ASSERT_EQ(sans.size(), 2u);
    EXPECT_EQ(sans[0].type, "dns");
    EXPECT_EQ(sans[0].value, "a.example");
    EXPECT_EQ(sans[0].index, -1);
    EXPECT_EQ(sans[1].type, "upn");
    EXPECT_EQ(sans[1].index, -1);
}

TEST(RewrittenSans, ForbiddenTypeIsRefusedNamingThePolicy) {
    Template t = test::make_template("t");
    t.san_allowed = {"dns"};
    auto [info, text] = failure_of([&] { rewritten_sans(t, {{"dns", "a.example"}, {"ip", "192.0.2.1"}}); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "template 't' does not allow a SAN of type ip (written by the policy)");
}

// What the policy wrote (often copied from the CSR) must encode as its type:
// refused as a request error here, never an OpenSSL failure (HTTP 500) at
// signing time.
TEST(RewrittenSans, ValuesThatCannotEncodeAreRefused) {
    Template t = test::make_template("t");
    t.san_allowed = {"dns", "ip", "uri"};
    auto ok = rewritten_sans(t, {{"ip", "192.0.2.1"}, {"ip", "2001:db8::1"}, {"dns", "a.example"}});
    EXPECT_EQ(ok.size(), 3u);
    auto [info, text] = failure_of([&] { rewritten_sans(t, {{"ip", "not-an-address"}}); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "the policy's ip SAN 'not-an-address' is not an IP address");
    EXPECT_EQ(failure_of([&] { rewritten_sans(t, {{"ip", "192.0.2.300"}}); }).first, FailInfo::bad_request);
    auto [info2, text2] = failure_of([&] { rewritten_sans(t, {{"dns", "b\xc3\xbc" "cher.example"}}); });
    EXPECT_EQ(info2, FailInfo::bad_request);
    EXPECT_NE(text2.find("is not ASCII"), std::string::npos) << text2;
}

TEST(RewrittenSans, ForbiddenTypeIsDroppedByADroppingTemplate) {
    Template t = test::make_template("t");
    t.san_allowed = {"email"};
    t.reject_excess = false;
    auto sans = rewritten_sans(t, {{"dns", "a.example"}, {"email", "x@example.com"}});
    ASSERT_EQ(sans.size(), 1u);
    EXPECT_EQ(sans[0].value, "x@example.com");
}

class CheckKey : public ::testing::Test {
   protected:
    // RSA keys are slow to make: one of each size for the suite.
    static void SetUpTestSuite() {
        rsa2048_key_ = test::rsa_key(2048);
        rsa1024_key_ = test::rsa_key(1024);
        rsa2048_ = rsa2048_key_.get();
        rsa1024_ = rsa1024_key_.get();
    }
    static void TearDownTestSuite() {
        rsa2048_key_.reset();
        rsa1024_key_.reset();
    }
    static inline ossl::PKey rsa2048_key_, rsa1024_key_;
    static inline EVP_PKEY* rsa2048_ = nullptr;
    static inline EVP_PKEY* rsa1024_ = nullptr;
    Template t_ = test::make_template("keys");
};

TEST_F(CheckKey, RsaAtTheMinimumAndEcPassByDefault) {
    EXPECT_NO_THROW(check_key(t_, test::csr(rsa2048_)));
    EXPECT_NO_THROW(check_key(t_, test::csr(test::ec_key().get())));
}

TEST_F(CheckKey, RsaBelowTheMinimumIsRefusedWithBothSizes) {
    auto [info, text] = failure_of([&] { check_key(t_, test::csr(rsa1024_)); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "template 'keys' needs RSA keys of at least 2048 bits; the CSR has 1024");
    t_.min_rsa_bits = 3072;
    auto [info2, text2] = failure_of([&] { check_key(t_, test::csr(rsa2048_)); });
    EXPECT_EQ(text2, "template 'keys' needs RSA keys of at least 3072 bits; the CSR has 2048");
}

TEST_F(CheckKey, RsaMinimumDoesNotApplyToEcKeys) {
    t_.min_rsa_bits = 16384;
    EXPECT_NO_THROW(check_key(t_, test::csr(test::ec_key().get())));
}

TEST_F(CheckKey, KeyTypeOutsideTheTemplatesListIsRefused) {
    t_.key_types = {"rsa"};
    auto [info, text] = failure_of([&] { check_key(t_, test::csr(test::ec_key().get())); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "template 'keys' does not allow ec keys");
    t_.key_types = {"ec"};
    auto [info2, text2] = failure_of([&] { check_key(t_, test::csr(rsa2048_)); });
    EXPECT_EQ(text2, "template 'keys' does not allow rsa keys");
}

TEST_F(CheckKey, KeyTypeAndSizeAreReadFromTheCsr) {
    CsrInfo rsa = test::csr(rsa1024_);
    EXPECT_EQ(rsa.key_type, "rsa");
    EXPECT_EQ(rsa.key_bits, 1024);
    CsrInfo ec = test::csr(test::ec_key().get());
    EXPECT_EQ(ec.key_type, "ec");
    EXPECT_EQ(ec.key_bits, 256);
}


// ---- identity: the SID extension (KB5014754) and URI prefixes ---------------

TEST(SidText, AcceptsDomainAndWellKnownSids) {
    EXPECT_TRUE(valid_sid_text("S-1-5-21-3623811015-3361044348-30300820-1013"));
    EXPECT_TRUE(valid_sid_text("S-1-5-18"));
    EXPECT_TRUE(valid_sid_text("S-1-1-0"));
}

TEST(SidText, RefusesAnythingElse) {
    for (const char* bad : {"", "S-1-", "S-1-5", "S-2-5-18", "s-1-5-18", "S-1-5-18-", "S-1-5--18", "S-1-5-x",
                            "S-1-5-018", "S-1-5-4294967296", "S-1-5-18 ", "S-1-5-18\n", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"})
        EXPECT_FALSE(valid_sid_text(bad)) << bad;
    EXPECT_TRUE(valid_sid_text("S-1-5-4294967295"));
    EXPECT_FALSE(valid_sid_text("S-1-" + std::string(200, '1')));
}

// A CSR's subjectAltName of URIs (and DNS names, "DNS:" prefixed) as raw DER:
// the SID tag's comma would split a conf-style list.
std::string uri_sans(const std::vector<std::string>& names) {
    Bytes body;
    for (std::string n : names) {
        unsigned char tag = 0x86;
        if (n.rfind("DNS:", 0) == 0) { tag = 0x82; n = n.substr(4); }
        body.push_back(tag);
        body.push_back(static_cast<unsigned char>(n.size()));
        body.insert(body.end(), n.begin(), n.end());
    }
    std::string hex = "DER:30";
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02X", unsigned(body.size()));
    hex += buf;
    for (unsigned char b : body) {
        std::snprintf(buf, sizeof buf, "%02X", unsigned(b));
        hex += buf;
    }
    return hex;
}

constexpr const char* kSid = "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1013";

TEST_F(GrantNames, SidUriIsRefusedByAForbiddingRejectingTemplate) {
    CsrSpec spec;
    spec.sans = uri_sans({kSid});
    auto [info, text] = failure_of([&] { grant_names(t_, csr_with(spec)); });
    EXPECT_EQ(info, FailInfo::bad_request);
    EXPECT_EQ(text, "template 'strict' does not allow the SID extension (sid_extension: forbid); the CSR carries the "
                    "SAN URI tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1013");
}

TEST_F(GrantNames, SidUriIsDroppedWhollyByAForbiddingDroppingTemplate) {
    Template t = drop_template();
    t.san_allowed = {"uri", "dns"};
    CsrSpec spec;
    spec.sans = uri_sans({kSid, "DNS:d.example"});
    GrantedNames g = grant_names(t, csr_with(spec));
    EXPECT_FALSE(g.sid);
    ASSERT_EQ(g.sans.size(), 1u);
    EXPECT_EQ(g.sans[0].value, "d.example");
}

TEST_F(GrantNames, AllowedSidGoesToTheExtensionAndTheUriOnlyWhereUrisAreAllowed) {
    t_.sid_extension = Template::SidRule::allow;
    CsrSpec spec;
    spec.sans = uri_sans({kSid});
    GrantedNames g = grant_names(t_, csr_with(spec));  // no SAN type allowed: the URI is not copied, not refused
    ASSERT_TRUE(g.sid);
    EXPECT_EQ(*g.sid, "S-1-5-21-1-2-3-1013");
    EXPECT_TRUE(g.sans.empty());
    t_.san_allowed = {"uri"};
    g = grant_names(t_, csr_with(spec));
    ASSERT_EQ(g.sans.size(), 1u);
    t_.san_uri_prefixes = {"IntuneDeviceId://"};
    g = grant_names(t_, csr_with(spec));
    EXPECT_TRUE(g.sans.empty());
    EXPECT_TRUE(g.sid);
}

TEST_F(GrantNames, RequiredSidMissingOrInvalidIsRefused) {
    Template t = drop_template();
    t.sid_extension = Template::SidRule::require;
    auto [info, text] = failure_of([&] { grant_names(t, csr_with({})); });
    EXPECT_EQ(text, "template 'dropper' requires a SID (sid_extension: require); the CSR carries no SAN URI "
                    "tag:microsoft.com,2022-09-14:sid:<SID>");
    CsrSpec spec;
    spec.sans = uri_sans({"tag:microsoft.com,2022-09-14:sid:S-1-5-x"});
    auto [info2, text2] = failure_of([&] { grant_names(t, csr_with(spec)); });
    EXPECT_EQ(text2, "the CSR's SID SAN URI does not carry a valid SID (S-1-<digits>-...): 'S-1-5-x'");
    spec.sans = uri_sans({kSid, "tag:microsoft.com,2022-09-14:sid:S-1-5-18"});
    auto [info3, text3] = failure_of([&] { grant_names(t, csr_with(spec)); });
    EXPECT_EQ(text3, "the CSR carries two different SIDs (S-1-5-21-1-2-3-1013, S-1-5-18)");
}

TEST_F(GrantNames, UriPrefixesLetThroughOnlyTheirUris) {
    t_.san_allowed = {"uri"};
    t_.san_uri_prefixes = {"IntuneDeviceId://"};
    CsrSpec spec;
    spec.sans = "URI:IntuneDeviceId://7f1c2b3a-0000-4000-8000-000000000001";
    EXPECT_EQ(grant_names(t_, csr_with(spec)).sans.size(), 1u);
    spec.sans = "URI:https://evil.example/";
    auto [info, text] = failure_of([&] { grant_names(t_, csr_with(spec)); });
    EXPECT_EQ(text, "template 'strict' does not allow the URI SAN 'https://evil.example/' (not under san.uri_prefixes)");
    Template t = drop_template();
    t.san_allowed = {"uri"};
    t.san_uri_prefixes = {"IntuneDeviceId://"};
    EXPECT_TRUE(grant_names(t, csr_with(spec)).sans.empty());
}

TEST_F(GrantNames, NoUriPrefixesMeansAnyUriAsBefore) {
    t_.san_allowed = {"uri"};
    CsrSpec spec;
    spec.sans = "URI:https://any.example/";
    EXPECT_EQ(grant_names(t_, csr_with(spec)).sans.size(), 1u);
}


// ---- the validity a CSR asks for (Microsoft's name-value pairs) -----------

TEST(ValidityRequest, UnitsTimesPeriod) {
    EXPECT_EQ(validity_request_seconds("Days", "30"), 30LL * 86400);
    EXPECT_EQ(validity_request_seconds("Years", "1"), 365LL * 86400);
    EXPECT_EQ(validity_request_seconds("Months", "2"), 60LL * 86400);
    EXPECT_EQ(validity_request_seconds("Weeks", "3"), 21LL * 86400);
    EXPECT_EQ(validity_request_seconds("Hours", "12"), 12LL * 3600);
    auto [i1, t1] = failure_of([] { validity_request_seconds("Fortnights", "1"); });
    EXPECT_EQ(t1, "the CSR's ValidityPeriod 'Fortnights' is not Years, Months, Weeks, Days or Hours");
    for (const char* bad : {"", "0", "-1", "1x", "01", "1000000"}) {
        auto [i, t] = failure_of([&] { validity_request_seconds("Days", bad); });
        EXPECT_EQ(i, FailInfo::bad_request) << bad;
    }
}

TEST_F(GrantNames, RequestedValidityIsReadHonouredAndCapped) {
    t_.max_validity_days = 90;
    CsrSpec spec;
    spec.name_value_pairs = {{"ValidityPeriod", "Days"}, {"ValidityPeriodUnits", "30"}};
    CsrInfo c = csr_with(spec);
    ASSERT_TRUE(c.requested_validity_seconds);
    EXPECT_EQ(*c.requested_validity_seconds, 30LL * 86400);
    EXPECT_EQ(grant_names(t_, c).validity_seconds, 30LL * 86400);
    spec.name_value_pairs = {{"ValidityPeriod", "Years"}, {"ValidityPeriodUnits", "1"}};
    auto [info, text] = failure_of([&] { grant_names(t_, csr_with(spec)); });
    EXPECT_EQ(text, "template 'strict' issues for at most 90 days (max_validity_days); the CSR asks for 1 Years");
    Template t = drop_template();
    t.max_validity_days = 90;
    EXPECT_EQ(grant_names(t, csr_with(spec)).validity_seconds, 90LL * 86400);
    EXPECT_FALSE(grant_names(t, csr_with({})).validity_seconds);
}

TEST_F(GrantNames, HalfAValidityRequestIsRefused) {
    CsrSpec spec;
    spec.name_value_pairs = {{"ValidityPeriodUnits", "30"}, {"Other", "x"}};
    auto [info, text] = failure_of([&] { csr_with(spec); });
    EXPECT_EQ(text, "the CSR names ValidityPeriodUnits without ValidityPeriod");
}


TEST_F(GrantNames, PolicySidTakesTheCsrsPlaceUnderTheSameRules) {
    t_.sid_extension = Template::SidRule::require;
    CsrSpec spec;
    spec.sans = uri_sans({kSid});
    GrantedNames g = grant_names(t_, csr_with(spec), std::string("S-1-5-21-9-9-9-500"));
    EXPECT_EQ(*g.sid, "S-1-5-21-9-9-9-500");
    EXPECT_EQ(*grant_names(t_, csr_with({}), std::string("S-1-5-18")).sid, "S-1-5-18");  // require met by the policy
    auto [i1, t1] = failure_of([&] { grant_names(t_, csr_with({}), std::string("S-1-5-x")); });
    EXPECT_EQ(t1, "the policy's SID 'S-1-5-x' does not carry a valid SID (S-1-<digits>-...)");
    t_.sid_extension = Template::SidRule::forbid;
    auto [i2, t2] = failure_of([&] { grant_names(t_, csr_with({}), std::string("S-1-5-18")); });
    EXPECT_EQ(t2, "template 'strict' does not allow the SID extension (sid_extension: forbid); the policy returns the SID S-1-5-18");
    EXPECT_FALSE(grant_names(drop_template(), csr_with({}), std::string("S-1-5-18")).sid);
}

}  // namespace
}  // namespace scepter
