// The OCSP responder's logic: statuses from the store, the nonce, the
// responder certificate it issues and renews, the cache and how a
// revocation reaches it, and the requests it refuses as malformed.
#include "ocsp/ocsp_responder.h"

#include "ca_fixture.h"
#include "scepter/der.h"
#include "scepter/text.h"
#include "store_fixture.h"

#include <gtest/gtest.h>
#include <cstring>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace scepter {
namespace {

// ---- what a client builds and checks, with OpenSSL's client API ----

Bytes request_der(X509* issuer, const std::string& serial_hex, bool nonce, const EVP_MD* md = EVP_sha1()) {
    BIGNUM* raw = nullptr;
    BN_hex2bn(&raw, serial_hex.c_str());
    ossl::Bignum bn(raw);
    ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    OCSP_CERTID* id = OCSP_cert_id_new(md, X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer), serial.get());
    ossl::OcspRequest req(OCSP_REQUEST_new());
    OCSP_request_add0_id(req.get(), id);
    if (nonce) OCSP_request_add1_nonce(req.get(), nullptr, 16);
    return to_der(req.get(), i2d_OCSP_REQUEST);
}

OcspQuery query(const Bytes& der) { return read_ocsp_request(der.data(), der.size()); }

struct Answer {
    int response_status = -1;
    int cert_status = -1;
    int reason = -2;
    std::int64_t revoked_at = 0, this_update = 0, next_update = 0;
    bool verifies = false;
    int nonce = -9;  // OCSP_check_nonce
    ossl::X509Ptr signer;
};

std::int64_t unix_of(const ASN1_GENERALIZEDTIME* t) {
    struct tm tm {};
    ASN1_TIME_to_tm(t, &tm);
    return timegm(&tm);
}

Answer read_answer(const Bytes& body, X509* ca, OCSP_REQUEST* req, unsigned long flags = 0) {
    Answer a;
    const unsigned char* p = body.data();
    ossl::OcspResponse resp(d2i_OCSP_RESPONSE(nullptr, &p, long(body.size())));
    if (!resp) return a;
    a.response_status = OCSP_response_status(resp.get());
    ossl::OcspBasicResp basic(OCSP_response_get1_basic(resp.get()));
    if (!basic) return a;
    ossl::X509Store store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), ca);
    a.verifies = OCSP_basic_verify(basic.get(), nullptr, store.get(), flags) == 1;
    a.nonce = OCSP_check_nonce(req, basic.get());
    const STACK_OF(X509)* certs = OCSP_resp_get0_certs(basic.get());
    if (sk_X509_num(certs) > 0) a.signer = ossl::up_ref(sk_X509_value(certs, 0));
    OCSP_SINGLERESP* single = OCSP_resp_get0(basic.get(), 0);
    ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
    a.cert_status = OCSP_single_get0_status(single, &a.reason, &rev, &thisupd, &nextupd);
    if (rev) a.revoked_at = unix_of(rev);
    if (thisupd) a.this_update = unix_of(thisupd);
    if (nextupd) a.next_update = unix_of(nextupd);
    ERR_clear_error();
    return a;
}

std::string header(const Response& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return "";
}

class OcspResponderTest : public store_test::StoreTest {
   protected:
    static void SetUpTestSuite() {
        ca_key_ = test::rsa_key();
        other_key_ = test::ec_key();
    }
    static void TearDownTestSuite() {
        ca_key_.reset();
        other_key_.reset();
    }

    void SetUp() override {
        StoreTest::SetUp();
        store_ = open_sqlite_store(path_, 5000);
        ca_.ca = test::make_ca(ca_key_.get(), "OCSP CA", 3650 * 86400L);
        cfg_.ocsp.revocation_check_ms = 0;  // every answer() looks at the store
        good_ = store_test::make_cert(1);
        store_->record_issuance(good_, store_test::make_tx(good_));
        revoked_ = store_test::make_cert(2);
        store_->record_issuance(revoked_, store_test::make_tx(revoked_));
        ASSERT_TRUE(store_->revoke(revoked_.serial_hex, 1 /* keyCompromise */, 1750000000));
    }
    void TearDown() override {
        responder_.reset();
        store_.reset();
        StoreTest::TearDown();
    }

    OcspResponder& responder() {
        if (!responder_) responder_ = std::make_unique<OcspResponder>(cfg_, ca_);
        return *responder_;
    }

    Answer ask(const Bytes& der, Response* out = nullptr, std::int64_t now = std::time(nullptr),
               unsigned long flags = 0) {
        OcspQuery q = query(der);
        Response r = responder().answer(q, *store_, now);
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.content_type, "application/ocsp-response");
        Answer a = read_answer(r.body, ca_.ca.cert.get(), q.request.get(), flags);
        if (out) *out = std::move(r);
        return a;
    }

    static inline ossl::PKey ca_key_, other_key_;
    Config cfg_;
    CaMaterial ca_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<OcspResponder> responder_;
    IssuedCert good_, revoked_;
};

TEST_F(OcspResponderTest, GoodRevokedAndUnknownAreSignedByAResponderTheCaIssued) {
    Answer good = ask(request_der(ca_.ca.cert.get(), good_.serial_hex, false));
    EXPECT_EQ(good.response_status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
    EXPECT_EQ(good.cert_status, V_OCSP_CERTSTATUS_GOOD);
    EXPECT_TRUE(good.verifies);
    EXPECT_EQ(good.next_update - good.this_update, 24 * 3600);

    Answer revoked = ask(request_der(ca_.ca.cert.get(), revoked_.serial_hex, false, EVP_sha256()));
    EXPECT_EQ(revoked.cert_status, V_OCSP_CERTSTATUS_REVOKED);
    EXPECT_EQ(revoked.reason, 1);
    EXPECT_EQ(revoked.revoked_at, 1750000000);
    EXPECT_TRUE(revoked.verifies);

    Answer never_issued = ask(request_der(ca_.ca.cert.get(), "7F00000000000000000000000000ABCD", false));
    EXPECT_EQ(never_issued.cert_status, V_OCSP_CERTSTATUS_UNKNOWN);
    // Another CA's name and key with one of our serials: not ours.
    ossl::X509Ptr other = test::make_ca(other_key_.get(), "Other CA", 86400).cert;
    // Our responder is authorised for our CA only: its chain is checked, not
    // its authority over the other CA (OCSP_NOCHECKS).
    Answer foreign = ask(request_der(other.get(), good_.serial_hex, false), nullptr, std::time(nullptr), OCSP_NOCHECKS);
    EXPECT_EQ(foreign.cert_status, V_OCSP_CERTSTATUS_UNKNOWN);
    EXPECT_TRUE(foreign.verifies);

    // The delegated responder: id-kp-OCSPSigning, ocsp-nocheck, not a CA, short-lived.
    X509* signer = good.signer.get();
    ASSERT_NE(signer, nullptr);
    EXPECT_EQ(X509_check_issued(ca_.ca.cert.get(), signer), X509_V_OK);
    EXPECT_NE(X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN, 0u);
    EXPECT_GE(X509_get_ext_by_NID(signer, NID_id_pkix_OCSP_noCheck, -1), 0);
    EXPECT_EQ(X509_check_ca(signer), 0);
    EXPECT_NEAR(test::seconds_from_now(X509_get0_notAfter(signer)), 72 * 3600, 60);
}

TEST_F(OcspResponderTest, NonceIsEchoedAndSuchAnswersAreNotCached) {
    Bytes der = request_der(ca_.ca.cert.get(), good_.serial_hex, true);
    Response r;
    Answer a = ask(der, &r);
    EXPECT_EQ(a.nonce, 1);
    EXPECT_EQ(header(r, "Cache-Control"), "no-store");
    EXPECT_EQ(responder().cache().size(), 0u);
    Answer again = ask(der);
    EXPECT_EQ(again.nonce, 1);
    // Without a nonce: none in the answer either.
    Answer plain = ask(request_der(ca_.ca.cert.get(), good_.serial_hex, false));
    EXPECT_EQ(plain.nonce, 2);  // "nonce absent from both"
}

TEST_F(OcspResponderTest, ResponsesWithoutNonceAreBuiltOnceAndServedWithCachingHeaders) {
    cfg_.ocsp.revocation_check_ms = 60000;
    Bytes der = request_der(ca_.ca.cert.get(), good_.serial_hex, false);
    std::int64_t now = std::time(nullptr);
    EXPECT_FALSE(responder().cached(query(der), now)) << "nothing cached before the store was asked";
    Response first, second;
    ask(der, &first, now);
    ask(der, &second, now + 5);
    EXPECT_EQ(first.body, second.body) << "the same signed bytes";
    auto hit = responder().cached(query(der), now + 10);
    ASSERT_TRUE(hit);
    EXPECT_EQ(hit->body, first.body);
    EXPECT_EQ(header(*hit, "Cache-Control"), "max-age=" + std::to_string(24 * 3600 - 10) +
                                                 ", public, no-transform, must-revalidate");
    EXPECT_EQ(header(*hit, "Last-Modified"), http_date(now));
    EXPECT_EQ(header(*hit, "Expires"), http_date(now + 24 * 3600));
    EXPECT_FALSE(header(*hit, "ETag").empty());
    // Half-way to nextUpdate the response is built anew.
    EXPECT_FALSE(responder().cached(query(der), now + 12 * 3600));
    // Unknown serials are not kept.
    ask(request_der(ca_.ca.cert.get(), "7F0000000000000000000000000000FF", false));
    EXPECT_EQ(responder().cache().size(), 1u);
}

TEST_F(OcspResponderTest, ARevocationInTheStoreReplacesTheCachedGoodAnswer) {
    Bytes der = request_der(ca_.ca.cert.get(), good_.serial_hex, false);
    EXPECT_EQ(ask(der).cert_status, V_OCSP_CERTSTATUS_GOOD);
    EXPECT_EQ(responder().cache().size(), 1u);
    // Another process (the CLI) revokes it.
    ASSERT_TRUE(store_->revoke(good_.serial_hex, 4 /* superseded */, 1760000000));
    // revocation_check_ms 0: nothing is served from memory without asking the store.
    EXPECT_FALSE(responder().cached(query(der), std::time(nullptr)));
    Answer after = ask(der);
    EXPECT_EQ(after.cert_status, V_OCSP_CERTSTATUS_REVOKED);
    EXPECT_EQ(after.reason, 4);
}

TEST_F(OcspResponderTest, TheResponderCertificateIsRenewedBeforeAResponseCouldOutliveIt) {
    Bytes der = request_der(ca_.ca.cert.get(), good_.serial_hex, true);
    std::int64_t now = std::time(nullptr);
    Answer first = ask(der, nullptr, now);
    Answer same = ask(der, nullptr, now + 47 * 3600);
    EXPECT_EQ(X509_cmp(first.signer.get(), same.signer.get()), 0);
    Answer renewed = ask(der, nullptr, now + 49 * 3600);  // fewer than next_update_hours left
    EXPECT_NE(X509_cmp(first.signer.get(), renewed.signer.get()), 0);
}

TEST_F(OcspResponderTest, TheFirstSignatureOfAProcessLogsItsResponderCertificate) {
    Response r;
    ask(request_der(ca_.ca.cert.get(), good_.serial_hex, true), &r);
    ASSERT_EQ(r.logs.size(), 1u);
    EXPECT_EQ(r.logs[0].text.rfind("SCP7201 ", 0), 0u) << r.logs[0].text;
    Response again;
    ask(request_der(ca_.ca.cert.get(), good_.serial_hex, true), &again);
    EXPECT_TRUE(again.logs.empty());
}

TEST_F(OcspResponderTest, AResponderCertificateOfTheAdminsSignsWhenConfigured) {
    auto write_pair = [&](const KeyPair& p, const std::string& name) {
        KeyPairFiles files{(dir_ / (name + ".pem")).string(), (dir_ / (name + ".key")).string()};
        ossl::Bio cert(BIO_new_file(files.cert.c_str(), "w"));
        PEM_write_bio_X509(cert.get(), p.cert.get());
        ossl::Bio key(BIO_new_file(files.key.c_str(), "w"));
        PEM_write_bio_PrivateKey(key.get(), p.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
        return files;
    };
    OcspSigner mine = issue_ocsp_signer(ca_.ca, 24 * 30, 24);
    cfg_.ocsp.responder = write_pair(mine.pair, "responder");
    Answer a = ask(request_der(ca_.ca.cert.get(), good_.serial_hex, true));
    EXPECT_TRUE(a.verifies);
    ASSERT_NE(a.signer, nullptr);
    EXPECT_EQ(X509_cmp(a.signer.get(), mine.pair.cert.get()), 0);
    // Another CA's certificate is refused at load.
    KeyPair other = test::make_ca(other_key_.get(), "Other CA", 86400);
    cfg_.ocsp.responder = write_pair(other, "other");
    EXPECT_THROW(OcspResponder(cfg_, ca_), ConfigError);
}

// ---- the request reader ----

TEST(OcspRequest, MalformedRequestsAreRefused) {
    Bytes junk = {0x30, 0x03, 0x02, 0x01, 0x00};
    EXPECT_THROW(read_ocsp_request(junk.data(), junk.size()), OcspMalformed);
    EXPECT_THROW(read_ocsp_request(nullptr, 0), OcspMalformed);
    ossl::PKey key = test::ec_key();
    ossl::X509Ptr ca = test::make_ca(key.get(), "Reader CA", 86400).cert;
    Bytes der = request_der(ca.get(), "0A0B", false);
    Bytes trailing = der;
    trailing.push_back(0);
    EXPECT_THROW(read_ocsp_request(trailing.data(), trailing.size()), OcspMalformed);
    // A nonce of 129 octets (RFC 9654 allows 1 to 128).
    ossl::OcspRequest big(OCSP_REQUEST_new());
    OCSP_request_add0_id(big.get(), OCSP_cert_to_id(nullptr, nullptr, ca.get()));
    OCSP_request_add1_nonce(big.get(), nullptr, 129);
    Bytes big_der = to_der(big.get(), i2d_OCSP_REQUEST);
    EXPECT_THROW(read_ocsp_request(big_der.data(), big_der.size()), OcspMalformed);
    OcspQuery ok = read_ocsp_request(der.data(), der.size());
    ASSERT_EQ(ok.items.size(), 1u);
    EXPECT_EQ(ok.items[0].serial_hex, "0A0B");
    EXPECT_TRUE(ok.cacheable());
}

TEST(OcspRequest, GetFindsTheBase64AfterTheLocationWhateverItHolds) {
    ossl::PKey key = test::ec_key();
    ossl::X509Ptr ca = test::make_ca(key.get(), "Reader CA", 86400).cert;
    // Look for a serial whose request's base64 holds '/' and '+', as a client's may.
    for (int n = 1; n < 4000; ++n) {
        char serial[16];
        std::snprintf(serial, sizeof serial, "%X", n);
        if (std::strlen(serial) % 2) continue;  // the store's form: whole octets
        Bytes der = request_der(ca.get(), serial, false);
        std::string b64 = base64_encode(der);
        if (b64.find('/') == std::string::npos || b64.find('+') == std::string::npos) continue;
        std::string escaped;
        for (char c : b64) escaped += c == '/' ? "%2F" : c == '+' ? "%2B" : c == '=' ? "%3D" : std::string(1, c);
        EXPECT_EQ(read_ocsp_get("/ocsp/" + escaped).items.at(0).serial_hex, serial);
        EXPECT_EQ(read_ocsp_get("/pki/ocsp/" + b64).items.at(0).serial_hex, serial) << "raw '/' and '+'";
        EXPECT_THROW(read_ocsp_get("/ocsp/"), OcspMalformed);
        EXPECT_THROW(read_ocsp_get("/ocsp/" + b64.substr(0, b64.size() - 4)), OcspMalformed);
        return;
    }
    FAIL() << "no request with '/' and '+' in its base64";
}

TEST(OcspHttp, DatesAreImfFixdate) {
    EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace scepter
