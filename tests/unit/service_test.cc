// The whole core through its one entry point, as a device would drive it:
// GetCACaps, GetCACert and PKIOperation against the demo PKI, no server.
#include "service/service.h"

#include "challenge/challenge.h"

#include "../../cli/demo_pki.h"
#include "scepter/capi.h"
#include "scepter/cert_serial.h"
#include "scepter/log_ids.h"
#include "test_keys.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace scepter {
namespace {

struct Device {
    ossl::PKey key;
    ossl::X509Ptr signer;
};

ossl::X509Req make_csr(EVP_PKEY* key, const std::string& cn, const std::string& challenge,
                       const std::string& key_usage, bool ask_for_ca, const EVP_MD* md = EVP_sha256()) {
    ossl::X509Req req(X509_REQ_new());
    X509_REQ_set_version(req.get(), 0);
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key);
    if (!challenge.empty())
        X509_REQ_add1_attr_by_NID(req.get(), NID_pkcs9_challengePassword, MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(challenge.c_str()), -1);
    ossl::ExtStack exts(sk_X509_EXTENSION_new_null());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, nullptr, nullptr, req.get(), nullptr, 0);
    if (!key_usage.empty())
        sk_X509_EXTENSION_push(exts.get(), X509V3_EXT_conf_nid(nullptr, &ctx, NID_key_usage, key_usage.c_str()));
    if (ask_for_ca)
        sk_X509_EXTENSION_push(exts.get(), X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE"));
    if (sk_X509_EXTENSION_num(exts.get()) > 0) X509_REQ_add_extensions(req.get(), exts.get());
    X509_REQ_sign(req.get(), key, md);
    return req;
}

Bytes der_of(X509_REQ* req) {
    unsigned char* p = nullptr;
    int len = i2d_X509_REQ(req, &p);
    ossl::Buffer<unsigned char> owned(p);
    return Bytes(p, p + len);
}

class ServiceTest : public ::testing::Test {
   protected:
    static void SetUpTestSuite() {
        char tmpl[] = "/tmp/scepter-service-XXXXXX";
        dir_ = mkdtemp(tmpl);
        auto pki = cli::write_demo_pki({dir_ + "/pki"});
        challenge_ = pki.challenge;
        service_ = Service::load(pki.config_path).release();
    }
    static void TearDownTestSuite() {
        delete service_;
        std::system(("rm -rf " + dir_).c_str());
    }

    static Response call(const std::string& method, const std::string& query, const Bytes& body = {},
                         const std::string& profile = "") {
        Request r{method, "/scep", query, "", "127.0.0.1", "Dalvik/2.1.0 (Linux; U; Android 14)", profile, "", "", "", body.data(),
                  body.size()};
        auto resp = service_->handle(r, true);
        EXPECT_TRUE(resp.has_value());
        return std::move(*resp);
    }

    struct Sent {
        Bytes message;
        Bytes nonce;
        Device device;
    };

    static Sent pkcs_req(const std::string& challenge, const std::string& key_usage = "digitalSignature",
                         bool ask_for_ca = false, ContentCipher cipher = ContentCipher::aes128, bool ec = false,
                         unsigned rsa_bits = 2048, const std::string& transaction_id = "") {
        Sent s;
        s.device.key = ec ? ossl::PKey(EVP_EC_gen("P-256")) : test::rsa_key(rsa_bits);
        s.device.signer = test::self_signed(s.device.key.get(), "device");
        Bytes csr = der_of(make_csr(s.device.key.get(), "device-1", challenge, key_usage, ask_for_ca).get());
        Bytes env = seal_envelope(csr, {service_->ca().ra_encryption.cert.get()}, cipher, false, nullptr);
        ScepAttributes a;
        a.transaction_id = transaction_id.empty() ? "tx-" + std::to_string(++counter_) : transaction_id;
        a.message_type = int(MessageType::pkcs_req);
        a.sender_nonce = s.nonce = make_nonce();
        s.message = write_signed_message(env, a, s.device.signer.get(), s.device.key.get(), Digest::sha256);
        return s;
    }

    static SignedMessage reply_of(const Response& r) {
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.content_type, "application/x-pki-message");
        return read_signed_message(r.body);
    }

    static std::string issued_serial(const SignedMessage& rep, const Device& device) {
        Bytes inner = open_envelope(rep.content, {{device.signer.get(), device.key.get()}}, nullptr);
        auto certs = read_certs_only(inner);
        return certs.size() == 1 ? serial_hex(X509_get0_serialNumber(certs[0].get())) : "";
    }

    static std::size_t certs_of_transaction(const std::string& transaction_id) {
        std::size_t n = 0;
        for (const auto& c : service_->store().list_certs(100000)) n += c.transaction_id == transaction_id;
        return n;
    }

    static inline std::string dir_, challenge_;
    static inline Service* service_ = nullptr;
    static inline int counter_ = 0;
};

TEST_F(ServiceTest, GetCACapsAndGetCACert) {
    Response caps = call("GET", "operation=GetCACaps");
    EXPECT_EQ(caps.status, 200);
    std::string text(caps.body.begin(), caps.body.end());
    EXPECT_NE(text.find("SCEPStandard"), std::string::npos);
    EXPECT_EQ(text.find("DES3"), std::string::npos);
    Response certs = call("GET", "operation=GetCACert");
    EXPECT_EQ(certs.content_type, "application/x-x509-ca-ra-cert");
    EXPECT_EQ(read_certs_only(certs.body).size(), 3u);  // RA signing, RA encryption, CA
}

TEST_F(ServiceTest, PkcsReqIssuesFromTheKeyUsageTemplate) {
    Sent s = pkcs_req(challenge_, "digitalSignature");
    SignedMessage rep = reply_of(call("POST", "operation=PKIOperation", s.message));
    ASSERT_EQ(rep.attrs.status, PkiStatus::success) << rep.attrs.fail_info_text;
    EXPECT_EQ(rep.attrs.recipient_nonce, s.nonce);
    EXPECT_EQ(rep.attrs.message_type, int(MessageType::cert_rep));
    Bytes inner = open_envelope(rep.content, {{s.device.signer.get(), s.device.key.get()}}, nullptr);
    auto certs = read_certs_only(inner);
    ASSERT_EQ(certs.size(), 1u);
    X509* cert = certs[0].get();
    EXPECT_EQ(X509_verify(cert, X509_get0_pubkey(service_->ca().ca.cert.get())), 1);
    EXPECT_EQ(X509_get_key_usage(cert), uint32_t(KU_DIGITAL_SIGNATURE));
    ossl::Asn1Object oid(OBJ_txt2obj("1.3.6.1.4.1.311.20.2", 1));
    int pos = X509_get_ext_by_OBJ(cert, oid.get(), -1);
    ASSERT_GE(pos, 0);
    ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(X509_get_ext(cert, pos));
    std::string raw(reinterpret_cast<char*>(v->data), v->length);
    EXPECT_NE(raw.find(std::string("s\0i\0g", 5)), std::string::npos);  // BMPString "signature"
    ossl::Bignum serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    EXPECT_GE(BN_num_bits(serial.get()), 100);  // 128 random bits, leading zeros aside
    EXPECT_TRUE(service_->store().find_cert(serial_hex(serial.get())).has_value());
}

TEST_F(ServiceTest, EcDeviceKeyIsIssuedWithItsOwnPublicKey) {
    Sent s = pkcs_req(challenge_, "digitalSignature", false, ContentCipher::aes256, true);
    SignedMessage rep = reply_of(call("POST", "operation=PKIOperation", s.message));
    ASSERT_EQ(rep.attrs.status, PkiStatus::success) << rep.attrs.fail_info_text;
    Bytes inner = open_envelope(rep.content, {{s.device.signer.get(), s.device.key.get()}}, nullptr);
    auto certs = read_certs_only(inner);
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(certs[0].get()), s.device.key.get()), 1);
    EXPECT_EQ(X509_verify(certs[0].get(), X509_get0_pubkey(service_->ca().ca.cert.get())), 1);
    EXPECT_GE(X509_get_ext_by_NID(certs[0].get(), NID_subject_key_identifier, -1), 0);
}

TEST_F(ServiceTest, WrongChallengeIsBadRequestNamingThePhase) {
    SignedMessage rep = reply_of(call("POST", "operation=PKIOperation", pkcs_req("not-it").message));
    EXPECT_EQ(rep.attrs.status, PkiStatus::failure);
    EXPECT_EQ(rep.attrs.fail_info, FailInfo::bad_request);
    EXPECT_NE(rep.attrs.fail_info_text.find("challenge_password: ChallengePasswordMismatch"), std::string::npos);
}

TEST_F(ServiceTest, CsrAskingForCaIsRefused) {
    SignedMessage rep = reply_of(call("POST", "operation=PKIOperation", pkcs_req(challenge_, "digitalSignature", true).message));
    EXPECT_EQ(rep.attrs.fail_info, FailInfo::bad_request);
    EXPECT_NE(rep.attrs.fail_info_text.find("CA:TRUE"), std::string::npos);
}

TEST_F(ServiceTest, TripleDesOnStrictProfileIsBadAlg) {
    Sent s = pkcs_req(challenge_, "digitalSignature", false, ContentCipher::des3);
    SignedMessage rep = reply_of(call("POST", "operation=PKIOperation", s.message));
    EXPECT_EQ(rep.attrs.fail_info, FailInfo::bad_alg);
    SignedMessage legacy = reply_of(call("POST", "operation=PKIOperation", s.message, "legacy"));
    EXPECT_EQ(legacy.attrs.status, PkiStatus::success) << legacy.attrs.fail_info_text;
}

TEST_F(ServiceTest, TamperedSignatureIsBadMessageCheck) {
    Sent s = pkcs_req(challenge_);
    s.message[s.message.size() - 5] ^= 0x01;
    SignedMessage rep = reply_of(call("POST", "operation=PKIOperation", s.message));
    EXPECT_EQ(rep.attrs.fail_info, FailInfo::bad_message_check);
    EXPECT_EQ(rep.attrs.recipient_nonce, s.nonce);
}

TEST_F(ServiceTest, ClientMistakesAreFourHundreds) {
    EXPECT_EQ(call("POST", "operation=PKIOperation", Bytes{1, 2, 3}).status, 400);
    EXPECT_EQ(call("POST", "operation=PKIOperation").status, 400);
    EXPECT_EQ(call("POST", "operation=PKIOperation", Bytes(70000, 0x30)).status, 413);
    EXPECT_EQ(call("GET", "operation=PKIOperation&message=%%%").status, 400);
    EXPECT_EQ(call("GET", "").status, 400);
    EXPECT_EQ(call("GET", "operation=Nope").status, 400);
    EXPECT_EQ(call("DELETE", "operation=GetCACaps").status, 405);
    Response r = call("POST", "operation=PKIOperation", Bytes{0x30, 0x80});
    ASSERT_FALSE(r.logs.empty());
    EXPECT_EQ(r.logs.back().text.rfind(SCEPTER_ID_MESSAGE_UNREADABLE, 0), 0u);
}

// Found by the hostile-input suite: a transactionID with a line break reached
// the SCP3003 warning as is, and so nginx's error log as a forged next line.
// Control characters (and anything outside printable ASCII) are refused as
// an unreadable message, like an oversized transactionID.
TEST_F(ServiceTest, TransactionIdOutsidePrintableAsciiIs400AndNotLogged) {
    for (const std::string& tid : std::vector<std::string>{"x\n2026/01/01 [alert] forged", std::string("x\0y", 3), "x\x1b[2J", "tr\xC3\xA4ns"}) {
        Sent s = pkcs_req("wrong", "digitalSignature", false, ContentCipher::aes128, true, 2048, tid);
        Response r = call("POST", "operation=PKIOperation", s.message);
        EXPECT_EQ(r.status, 400);
        for (const auto& l : r.logs) EXPECT_EQ(l.text.find("forged"), std::string::npos) << l.text;
    }
}

// A message whose signature does not verify used to be answered with its
// unverified attributes unchecked: a 60 KB transactionID went into the audit
// trail and the log. They get the same bounds as a verified message's.
TEST_F(ServiceTest, UnverifiedAttributesGetTheSameBounds) {
    for (const std::string& tid : std::vector<std::string>{std::string(60000, 'T'), "x\ny"}) {
        Sent s = pkcs_req("wrong", "digitalSignature", false, ContentCipher::aes128, true, 2048, tid);
        s.message[s.message.size() - 5] ^= 0x01;  // the signature
        Response r = call("POST", "operation=PKIOperation", s.message);
        EXPECT_EQ(r.status, 400);
        for (const auto& l : r.logs) EXPECT_LT(l.text.size(), 1024u);
    }
}

// The 405 names the operation only when it is one of ours: what a client
// sends there may be kilobytes long.
TEST_F(ServiceTest, MethodNotAllowedDoesNotEchoAnUnknownOperation) {
    Response r = call("PUT", "operation=" + std::string(4000, 'A'));
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(std::string(r.body.begin(), r.body.end()), "method PUT is not allowed for an unknown operation\n");
    r = call("PUT", "operation=GetCACaps");
    EXPECT_EQ(std::string(r.body.begin(), r.body.end()), "method PUT is not allowed for GetCACaps\n");
}

std::string base64_of(const Bytes& data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&out[0]), data.data(), int(data.size()));
    out.resize(std::size_t(n));
    return out;
}

// limits.max_message_bytes (65536 in the demo config) bounds the message, not
// its transport: exactly the limit passes by POST and by GET (then fails as
// not a pkiMessage), one byte more is 413 either way.
TEST_F(ServiceTest, MessageSizeLimitIsTheSameForPostAndGet) {
    const Bytes at_limit(65536, 0x30), over_limit(65537, 0x30);
    EXPECT_EQ(call("POST", "operation=PKIOperation", at_limit).status, 400);
    EXPECT_EQ(call("POST", "operation=PKIOperation", over_limit).status, 413);
    EXPECT_EQ(call("GET", "operation=PKIOperation&message=" + base64_of(at_limit)).status, 400);
    Response r = call("GET", "operation=PKIOperation&message=" + base64_of(over_limit));
    EXPECT_EQ(r.status, 413);
    ASSERT_FALSE(r.logs.empty());
    EXPECT_EQ(r.logs.back().text.rfind(SCEPTER_ID_BODY_TOO_LARGE, 0), 0u);
}

// A one-time challenge is used up only by a request that is issued: a CSR the
// template refuses (key too small, CA:TRUE) or one that does not match the
// challenge's claims leaves it to the device, which then enrolls with it once.
TEST_F(ServiceTest, RefusedCsrLeavesTheOneTimeChallengeUnused) {
    const std::int64_t now = std::time(nullptr);
    IssuedChallenge c = make_challenge("default", "alice", "unit-test", now, 60, R"({"min_key_size":"1024"})");
    service_->store().add_challenge(c.record, 0, now);
    auto status = [&] { return service_->store().find_challenge(c.record.id)->status; };
    const std::string key_refusal = "cert_issued: template 'signature' needs RSA keys of at least 2048 bits";
    const std::pair<Sent, std::string> refused[] = {
        {pkcs_req(c.challenge, "digitalSignature", false, ContentCipher::aes128, false, 1024), key_refusal},
        {pkcs_req(c.challenge, "digitalSignature", true), "cert_issued: template 'signature' issues leaf"},
    };
    for (const auto& [sent, why] : refused) {
        SignedMessage rep = reply_of(call("POST", "operation=PKIOperation", sent.message));
        EXPECT_EQ(rep.attrs.status, PkiStatus::failure);
        EXPECT_EQ(rep.attrs.fail_info, FailInfo::bad_request);
        EXPECT_EQ(rep.attrs.fail_info_text.rfind(why, 0), 0u) << rep.attrs.fail_info_text;
        EXPECT_EQ(status(), "active");
    }
    SignedMessage ok = reply_of(call("POST", "operation=PKIOperation", pkcs_req(c.challenge).message));
    ASSERT_EQ(ok.attrs.status, PkiStatus::success) << ok.attrs.fail_info_text;
    EXPECT_EQ(status(), "consumed");
    SignedMessage replay = reply_of(call("POST", "operation=PKIOperation", pkcs_req(c.challenge).message));
    EXPECT_EQ(replay.attrs.fail_info_text.rfind("challenge_lookup: ChallengeAlreadyUsed", 0), 0u)
        << replay.attrs.fail_info_text;
}

TEST_F(ServiceTest, CsrNotMatchingTheClaimsLeavesTheOneTimeChallengeUnused) {
    const std::int64_t now = std::time(nullptr);
    IssuedChallenge c = make_challenge("default", "bob", "unit-test", now, 60, R"({"subject":"CN=someone-else"})");
    service_->store().add_challenge(c.record, 0, now);
    SignedMessage rep = reply_of(call("POST", "operation=PKIOperation", pkcs_req(c.challenge).message));
    EXPECT_EQ(rep.attrs.fail_info_text.rfind("challenge_claims: SubjectNameMismatch", 0), 0u)
        << rep.attrs.fail_info_text;
    EXPECT_EQ(service_->store().find_challenge(c.record.id)->status, "active");
}

// A static challenge does not stop a replay; the request's fingerprint
// does. The replay is answered like a poll, with the certificate issued.
TEST_F(ServiceTest, ReplayedPkcsReqGetsTheSameCertificateNeverASecond) {
    Sent s = pkcs_req(challenge_);
    const std::string tx = read_signed_message(s.message).attrs.transaction_id;
    SignedMessage first = reply_of(call("POST", "operation=PKIOperation", s.message));
    ASSERT_EQ(first.attrs.status, PkiStatus::success) << first.attrs.fail_info_text;
    SignedMessage again = reply_of(call("POST", "operation=PKIOperation", s.message));
    ASSERT_EQ(again.attrs.status, PkiStatus::success) << again.attrs.fail_info_text;
    EXPECT_EQ(again.attrs.recipient_nonce, s.nonce);
    const std::string serial = issued_serial(first, s.device);
    ASSERT_FALSE(serial.empty());
    EXPECT_EQ(issued_serial(again, s.device), serial);
    EXPECT_EQ(certs_of_transaction(tx), 1u);
}

// Clients derive the transaction ID from the key: a new request under an ID
// that succeeded (a re-enrollment, a renewal with the same key) is not a
// replay and is issued.
TEST_F(ServiceTest, NewRequestUnderAnIssuedTransactionIdIsIssued) {
    Sent s = pkcs_req(challenge_);
    const std::string tx = read_signed_message(s.message).attrs.transaction_id;
    SignedMessage first = reply_of(call("POST", "operation=PKIOperation", s.message));
    ASSERT_EQ(first.attrs.status, PkiStatus::success) << first.attrs.fail_info_text;
    Sent next = pkcs_req(challenge_, "digitalSignature", false, ContentCipher::aes128, false, 2048, tx);
    SignedMessage second = reply_of(call("POST", "operation=PKIOperation", next.message));
    ASSERT_EQ(second.attrs.status, PkiStatus::success) << second.attrs.fail_info_text;
    EXPECT_NE(issued_serial(second, next.device), issued_serial(first, s.device));
    EXPECT_EQ(certs_of_transaction(tx), 2u);
}

TEST_F(ServiceTest, CheapOperationsAnswerWithoutBlockingAndPkiOperationDefers) {
    Request caps{"GET", "/scep", "operation=GetCACaps", "", "127.0.0.1", "", "", "", "", "", nullptr, 0};
    EXPECT_TRUE(service_->handle(caps, false).has_value());
    Sent s = pkcs_req(challenge_);
    Request op{"POST", "/scep", "operation=PKIOperation", "", "127.0.0.1", "", "", "", "", "", s.message.data(), s.message.size()};
    EXPECT_FALSE(service_->handle(op, false).has_value());
}

}  // namespace
}  // namespace scepter

namespace scepter {
namespace {

// GetCACert in the three RA setups, each from a variant of the demo config.
class RaSetups : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-ra-XXXXXX";
        dir_ = mkdtemp(tmpl);
        cli::write_demo_pki({dir_});
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

    Response get_ca_cert(const std::string& ra_section) {
        std::string path = dir_ + "/variant.yaml";
        std::ofstream(path) << "store: {sqlite: state/v.db}\n"
                               "ca: {cert: ca.pem, key: ca.key}\n"
                            << ra_section
                            << "templates: {t: {key_usage: [digitalSignature]}}\n"
                               "profiles: {default: {template: t, challenge: {static: x}}}\n";
        auto svc = Service::load(path);
        Request r{"GET", "/scep", "operation=GetCACert", "", "127.0.0.1", "", "", "", "", "", nullptr, 0};
        return *svc->handle(r, false);
    }

    std::string dir_;
};

TEST_F(RaSetups, CaActingAsRaSendsOneDerCertificate) {
    Response r = get_ca_cert("");
    EXPECT_EQ(r.content_type, "application/x-x509-ca-cert");
    const unsigned char* p = r.body.data();
    ossl::X509Ptr cert(d2i_X509(nullptr, &p, long(r.body.size())));
    ASSERT_TRUE(cert);
    EXPECT_EQ(X509_check_ca(cert.get()), 1);
}

TEST_F(RaSetups, OneRaPairSendsRaThenCa) {
    Response r = get_ca_cert("ra: {cert: ra-enc.pem, key: ra-enc.key}\n");
    EXPECT_EQ(r.content_type, "application/x-x509-ca-ra-cert");
    auto certs = read_certs_only(r.body);
    ASSERT_EQ(certs.size(), 2u);
    EXPECT_EQ(X509_check_ca(certs[0].get()), 0);
    EXPECT_EQ(X509_check_ca(certs[1].get()), 1);
}

TEST_F(RaSetups, RaSigningCertWithoutKeyEnciphermentCannotDecrypt) {
    try {
        get_ca_cert("ra: {cert: ra-sign.pem, key: ra-sign.key}\n");
        FAIL() << "a signing-only RA certificate was accepted as the decrypting RA";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("key 'ra.cert'"), std::string::npos) << e.what();
    }
}

TEST_F(RaSetups, KeyThatDoesNotMatchItsCertificate) {
    try {
        get_ca_cert("ra: {cert: ra-enc.pem, key: ra-sign.key}\n");
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("key 'ra.key': the key does not belong"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace scepter

namespace scepter {
namespace {

// The connectors size their body limit from the core: what the YAML says.
TEST(CApi, MaxBodyIsTheConfiguredMessageLimit) {
    char tmpl[] = "/tmp/scepter-capi-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    auto pki = cli::write_demo_pki({dir});
    std::stringstream text;
    text << std::ifstream(pki.config_path).rdbuf();
    std::string yaml = text.str();
    const std::string demo_limit = "max_message_bytes: 65536";
    ASSERT_NE(yaml.find(demo_limit), std::string::npos);
    // beside the demo config, so its relative paths resolve the same
    const std::string big_path = pki.config_path.substr(0, pki.config_path.rfind('/')) + "/big.yaml";
    std::ofstream(big_path) << yaml.replace(yaml.find(demo_limit), demo_limit.size(),
                                                     "max_message_bytes: 4194304");
    char err[256] = "";
    scepter_service* demo = scepter_service_load(pki.config_path.c_str(), err, sizeof(err));
    scepter_service* big = scepter_service_load(big_path.c_str(), err, sizeof(err));
    ASSERT_NE(demo, nullptr) << err;
    ASSERT_NE(big, nullptr) << err;
    EXPECT_EQ(scepter_service_max_body(demo), 65536u);
    EXPECT_EQ(scepter_service_max_body(big), 4194304u);
    scepter_service_free(demo);
    scepter_service_free(big);
    std::system(("rm -rf " + dir).c_str());
}

// Every log line leaves the core with its control characters escaped, so no
// request can end a line of the web server's error log and forge the next.
TEST(CApi, LogLinesCarryNoControlCharacters) {
    char tmpl[] = "/tmp/scepter-capi-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    auto pki = cli::write_demo_pki({dir});
    char err[256] = "";
    scepter_service* svc = scepter_service_load(pki.config_path.c_str(), err, sizeof(err));
    ASSERT_NE(svc, nullptr) << err;
    auto str = [](const char* s) { return scepter_str{s, std::strlen(s)}; };
    scepter_request req{};
    req.method = str("GET");
    req.path = str("/scep");
    req.query = str("operation=%0A2026/01/01%20[alert]%20forged%1B");
    req.client_ip = str("127.0.0.1");
    scepter_response* resp = scepter_handle(svc, &req, 1);
    ASSERT_NE(resp, nullptr);
    EXPECT_EQ(resp->status, 400);
    for (size_t i = 0; i < resp->log_count; ++i) {
        for (const char* p = resp->logs[i].text; *p; ++p)
            EXPECT_FALSE((unsigned char)*p < 0x20 || *p == 0x7F) << resp->logs[i].text;
    }
    scepter_response_free(resp);
    scepter_service_free(svc);
    std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace scepter
