// Every audit line is strict JSON whatever the client sent: a subject with
// invalid UTF-8, control characters, quotes, backslashes and NUL, a User-Agent
// and a transaction ID with raw bytes. Checked on AuditLog directly (file and
// web-server-log destinations) and through the whole service.
#include "audit/audit.h"

#include "../../cli/demo_pki.h"
#include "scepter/log_ids.h"
#include "scepter/text.h"
#include "service/service.h"
#include "test_keys.h"
#include "util/json_flat.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace scepter {
namespace {

const char kNastyBytes[] = "cn=\xFF\xFE \xC0\xAF \xED\xA0\x80 \xE2\x82 \"q\" \\b\\ \x01\x1F\x7F \n\r\t nul:\0 end \xC3\xA9";
const std::string kNasty(kNastyBytes, sizeof kNastyBytes - 1);
// The same without control characters and NUL, which a name may not hold at
// all (ca/csr_checks.h refuses them before anything is logged).
const std::string kNastyName = "cn=\xFF\xFE \xC0\xAF \xED\xA0\x80 \xE2\x82 \"q\" \\b\\ end \xC3\xA9";

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Parses one audit line strictly (RFC 8259, UTF-8 only); fails the test with
// the reader's reason otherwise.
FlatJsonObject parse_line(const std::string& line) {
    try {
        return parse_flat_json(line);
    } catch (const JsonError& e) {
        ADD_FAILURE() << e.what() << " in: " << line;
        return {};
    }
}

AuditContext nasty_context() {
    AuditContext ctx;
    ctx.transaction_id = "tx\xFF\"\\\n";
    ctx.profile = "p";
    ctx.operation = "PKIOperation";
    ctx.client_ip = "127.0.0.1";
    ctx.user_agent = kNasty;
    ctx.client_os = guess_client_os(kNasty);
    return ctx;
}

TEST(AuditJson, FileLinesParseWhateverTheFields) {
    char tmpl[] = "/tmp/scepter-audit-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    const std::string path = dir + "/audit.log";
    {
        AuditLog audit(path);
        Response resp;
        audit.step(nasty_context(), SCEPTER_ID_STEP_FAILED, "csr_verified", false, kNasty, resp,
                   {{"subject", kNasty}, {"key\xFF\"", "v"}});
        audit.step(nasty_context(), SCEPTER_ID_GETCACAPS, "get_ca_caps", true, "", resp);
    }
    auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 2u);
    auto first = parse_line(lines[0]);
    EXPECT_EQ(first["subject"].text, utf8_sanitize(kNasty));  // NUL and all, as \u0000
    EXPECT_EQ(first["detail"].text, utf8_sanitize(kNasty));
    EXPECT_EQ(first["user_agent"].text, utf8_sanitize(kNasty));
    EXPECT_EQ(first["transaction_id"].text, "tx\xEF\xBF\xBD\"\\\n");
    EXPECT_EQ(first["outcome"].text, "failed");
    EXPECT_EQ(first.count("key\xEF\xBF\xBD\""), 1u);
    parse_line(lines[1]);
    std::system(("rm -rf " + dir).c_str());
}

TEST(AuditJson, ErrorLogLinesParseToo) {
    AuditLog audit("");
    Response resp;
    audit.step(nasty_context(), SCEPTER_ID_GETCACAPS, "get_ca_caps", true, kNasty, resp, {{"subject", kNasty}});
    ASSERT_EQ(resp.logs.size(), 1u);
    EXPECT_EQ(parse_line(resp.logs[0].text)["subject"].text, utf8_sanitize(kNasty));
}

// A CSR as a device would send it, its CN a TeletexString of raw bytes.
// (OpenSSL refuses to decode a name whose UTF8String is not UTF-8, so raw
// bytes reach the subject only through the 8-bit string types; they reach the
// transaction ID and the User-Agent as they are.)
Bytes csr_with_raw_cn(EVP_PKEY* key, const std::string& cn_bytes, const std::string& challenge) {
    ossl::X509Req req(X509_REQ_new());
    X509_REQ_set_version(req.get(), 0);
    // A type without MBSTRING_FLAG: OpenSSL stores the bytes as they are.
    X509_NAME_add_entry_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName, V_ASN1_T61STRING,
                               reinterpret_cast<const unsigned char*>(cn_bytes.data()), int(cn_bytes.size()), -1, 0);
    X509_REQ_set_pubkey(req.get(), key);
    X509_REQ_add1_attr_by_NID(req.get(), NID_pkcs9_challengePassword, MBSTRING_UTF8,
                              reinterpret_cast<const unsigned char*>(challenge.c_str()), -1);
    X509_REQ_sign(req.get(), key, EVP_sha256());
    unsigned char* p = nullptr;
    int len = i2d_X509_REQ(req.get(), &p);
    ossl::Buffer<unsigned char> owned(p);
    return Bytes(p, p + len);
}

TEST(AuditJson, ServiceLinesForARawSubjectParse) {
    char tmpl[] = "/tmp/scepter-audit-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    auto pki = cli::write_demo_pki({dir + "/pki"});
    auto service = Service::load(pki.config_path);
    ossl::PKey key = test::rsa_key();
    ossl::X509Ptr signer = test::self_signed(key.get(), "device");
    for (const std::string& txid : {std::string("tx-raw-1"), std::string("tx\"\\-2")}) {
        Bytes csr = csr_with_raw_cn(key.get(), kNastyName, pki.challenge);
        Bytes env = seal_envelope(csr, {service->ca().ra_encryption.cert.get()}, ContentCipher::aes128, false, nullptr);
        ScepAttributes a;
        a.transaction_id = txid;
        a.message_type = int(MessageType::pkcs_req);
        a.sender_nonce = make_nonce();
        Bytes msg = write_signed_message(env, a, signer.get(), key.get(), Digest::sha256);
        Request r{"POST", "/scep", "operation=PKIOperation", "", "127.0.0.1", kNasty, "", "", "", "", msg.data(),
                  msg.size()};
        ASSERT_TRUE(service->handle(r, true).has_value());
    }
    auto lines = lines_of(dir + "/pki/" + cli::kAuditLogFile);
    ASSERT_GE(lines.size(), 4u);
    int subjects = 0, raw_ids = 0;
    for (const auto& line : lines) {
        auto o = parse_line(line);
        subjects += o.count("subject") ? 1 : 0;
        raw_ids += o["transaction_id"].text == "tx\"\\-2" ? 1 : 0;
        EXPECT_EQ(o["user_agent"].text, utf8_sanitize(kNasty));
    }
    // The CSR was read (its subject logged), and the transaction ID with
    // JSON's special characters came back out of the lines as it went in (a
    // transaction ID with bytes outside printable ASCII is refused before).
    EXPECT_GE(subjects, 2) << ::testing::PrintToString(lines);
    EXPECT_GE(raw_ids, 1);
    std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace scepter
