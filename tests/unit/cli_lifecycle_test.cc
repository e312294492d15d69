// The lifecycle commands: reason and status names, the command lines they
// refuse, and `requests approve|deny` and `certs revoke` against a demo PKI.
#include "../../cli/demo_pki.h"
#include "../../cli/lifecycle.h"

#include "scepter/ossl.h"
#include "scepter/store.h"

#include <gtest/gtest.h>

#include <ctime>
#include <openssl/x509.h>

#include <filesystem>
#include <iostream>
#include <sstream>

namespace scepter::cli {
namespace {

namespace fs = std::filesystem;

TEST(CliLifecycle, RevocationReasonNames) {
    EXPECT_EQ(revocation_reason_code("unspecified"), 0);
    EXPECT_EQ(revocation_reason_code("keyCompromise"), 1);
    EXPECT_EQ(revocation_reason_code("caCompromise"), 2);
    EXPECT_EQ(revocation_reason_code("cACompromise"), 2);  // RFC 5280's spelling
    EXPECT_EQ(revocation_reason_code("affiliationChanged"), 3);
    EXPECT_EQ(revocation_reason_code("SUPERSEDED"), 4);
    EXPECT_EQ(revocation_reason_code("cessationOfOperation"), 5);
    EXPECT_EQ(revocation_reason_code("certificateHold"), 6);
    for (const char* refused : {"removeFromCRL", "privilegeWithdrawn", "aACompromise", "1", "", "compromised"}) {
        EXPECT_FALSE(revocation_reason_code(refused).has_value()) << refused;
    }
    EXPECT_EQ(revocation_reason_name(1), "keyCompromise");
    EXPECT_EQ(revocation_reason_name(8), "removeFromCRL");
    EXPECT_EQ(revocation_reason_name(-1), "reason -1");
    EXPECT_EQ(revocation_reason_choices(),
              "unspecified|keyCompromise|caCompromise|affiliationChanged|superseded|"
              "cessationOfOperation|certificateHold");
}

TEST(CliLifecycle, RequestStatusFilter) {
    EXPECT_EQ(request_status_filter("all"), "");
    for (const char* s : {"pending", "approved", "denied", "issued"}) EXPECT_EQ(request_status_filter(s), s);
    EXPECT_THROW(request_status_filter("Pending"), UsageError);
    EXPECT_THROW(request_status_filter(""), UsageError);
}

// Every one of these is refused before any file is read.
TEST(CliLifecycle, CommandLinesRefused) {
    const std::vector<std::vector<std::string>> requests_lines{
        {},
        {"approve", "tx"},                                      // no --config
        {"frobnicate", "--config", "x.yaml"},
        {"list", "--config", "x.yaml", "--status", "bogus"},
        {"list", "--config", "x.yaml", "--limit", "0"},
        {"list", "--config", "x.yaml", "--reason", "because"},  // --reason is for decisions
        {"list", "--config", "x.yaml", "extra"},
        {"approve", "--config", "x.yaml"},                      // no transaction ID
        {"deny", "--config", "x.yaml", "a", "b"},
        {"approve", "--config", "x.yaml", "tx", "--status", "all"},
        {"show", "--config", "x.yaml", "tx", "--reason", "x"},
    };
    for (const auto& line : requests_lines) EXPECT_THROW(run_requests(line), UsageError) << ::testing::PrintToString(line);
    const std::vector<std::vector<std::string>> certs_lines{
        {"revoke", "--config", "x.yaml"},
        {"revoke", "--config", "x.yaml", "01", "--reason", "removeFromCRL"},
        {"revoke", "--config", "x.yaml", "01", "--limit", "3"},
        {"revoke", "01", "--reason", "keyCompromise"},          // no --config
        {"list", "--config", "x.yaml", "--reason", "superseded"},
        {"show", "--config", "x.yaml", "01", "--reason", "superseded"},
        {"revoke", "--config", "x.yaml", "01", "--subject", "a"},      // a serial and a match
        {"revoke", "--config", "x.yaml", "--subject", "a", "--san", "b"},
        {"revoke", "--config", "x.yaml", "--requester", ""},
        {"list", "--config", "x.yaml", "--subject", "a"},
    };
    for (const auto& line : certs_lines) EXPECT_THROW(run_certs(line), UsageError) << ::testing::PrintToString(line);
}

// What a command printed, and its exit code.
struct Outcome {
    int exit_code;
    std::string out;
    std::string err;
};

template <typename Run>
Outcome capture(Run run) {
    std::ostringstream out, err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    int code = -1;
    try {
        code = run();
    } catch (...) {
        std::cout.rdbuf(old_out);
        std::cerr.rdbuf(old_err);
        throw;
    }
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    return {code, out.str(), err.str()};
}

// A demo PKI (as `scepter init` writes it) with one issued certificate and
// two pending requests in its store.
class CliLifecycleStore : public ::testing::Test {
   protected:
    static void SetUpTestSuite() {
        char tmpl[] = "/tmp/scepter-cli-lifecycle-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = fs::path(tmpl) / "pki";
        config_ = write_demo_pki({dir_.string(), "Lifecycle Test CA", false}).config_path;
    }
    static void TearDownTestSuite() { fs::remove_all(dir_.parent_path()); }

    void SetUp() override {
        fs::remove(dir_ / kStoreFile);
        fs::remove(dir_ / (std::string(kStoreFile) + "-wal"));
        fs::remove(dir_ / (std::string(kStoreFile) + "-shm"));
        fs::remove(dir_ / (std::string(kStoreFile) + "-created"));  // a new store, deliberately
        store_ = open_sqlite_store((dir_ / kStoreFile).string(), 5000);
        store_->record_issuance(issued(), {"tx-cert", "default", 19, "success", "", "", "0A1B2C", "192.0.2.9", 1700000000});
        for (const char* id : {"tx-one", "tx-two"}) {
            PendingRequest r;
            r.transaction_id = id;
            r.subject = std::string("CN=") + id;
            ASSERT_TRUE(store_->add_pending(r));
        }
    }

    static IssuedCert issued() {
        IssuedCert c;
        c.serial_hex = "0A1B2C";
        c.subject = "CN=device";
        c.sha1_hex = "ab";
        c.sha256_hex = "cd";
        c.transaction_id = "tx-cert";
        c.der = {0x30, 0x00};
        return c;
    }

    static fs::path dir_;
    static std::string config_;
    std::unique_ptr<Store> store_;
};

fs::path CliLifecycleStore::dir_;
std::string CliLifecycleStore::config_;

TEST_F(CliLifecycleStore, ApproveAndDenyOnce) {
    auto approve = capture([] { return run_requests({"approve", "--config", config_, "tx-one", "--reason", "ok"}); });
    EXPECT_EQ(approve.exit_code, kExitOk);
    EXPECT_EQ(approve.out, "tx-one: approved\n");
    EXPECT_EQ(store_->find_pending("tx-one")->reason, "ok");

    auto deny = capture([] { return run_requests({"deny", "--config", config_, "tx-two"}); });
    EXPECT_EQ(deny.exit_code, kExitOk);
    EXPECT_EQ(deny.out, "tx-two: denied\n");

    auto again = capture([] { return run_requests({"deny", "--config", config_, "tx-one"}); });
    EXPECT_EQ(again.exit_code, kExitFailure);
    EXPECT_NE(again.err.find("is approved, not pending"), std::string::npos) << again.err;
    auto unknown = capture([] { return run_requests({"approve", "--config", config_, "tx-none"}); });
    EXPECT_EQ(unknown.exit_code, kExitFailure);
    EXPECT_NE(unknown.err.find("no request with transaction ID 'tx-none'"), std::string::npos) << unknown.err;
}

TEST_F(CliLifecycleStore, ListsPendingByDefault) {
    ASSERT_TRUE(store_->decide_pending("tx-one", false, "", 1));
    auto pending = capture([] { return run_requests({"list", "--config", config_}); });
    EXPECT_EQ(pending.exit_code, kExitOk);
    EXPECT_NE(pending.out.find("TRANSACTION_ID"), std::string::npos);
    EXPECT_NE(pending.out.find("tx-two"), std::string::npos);
    EXPECT_EQ(pending.out.find("tx-one"), std::string::npos);
    auto all = capture([] { return run_requests({"list", "--config", config_, "--status", "all"}); });
    EXPECT_NE(all.out.find("tx-one"), std::string::npos);
}

TEST_F(CliLifecycleStore, RevokePublishesACrlListingTheSerial) {
    auto revoke = capture([] {
        return run_certs({"revoke", "--config", config_, "0a:1b:2c", "--reason", "keyCompromise"});
    });
    ASSERT_EQ(revoke.exit_code, kExitOk) << revoke.err;
    EXPECT_EQ(revoke.out, "0A1B2C: revoked (keyCompromise); CRL 1 published\n");
    EXPECT_EQ(store_->find_cert("0A1B2C")->revocation_reason, 1);

    auto crl_record = store_->latest_crl();
    ASSERT_TRUE(crl_record.has_value());
    const unsigned char* p = crl_record->der.data();
    ossl::Crl crl(d2i_X509_CRL(nullptr, &p, long(crl_record->der.size())));
    ASSERT_TRUE(crl);
    ASSERT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 1);

    auto again = capture([] { return run_certs({"revoke", "--config", config_, "0A1B2C"}); });
    EXPECT_EQ(again.exit_code, kExitFailure);
    EXPECT_NE(again.err.find("already revoked"), std::string::npos) << again.err;
    auto unknown = capture([] { return run_certs({"revoke", "--config", config_, "FFFF"}); });
    EXPECT_EQ(unknown.exit_code, kExitFailure);
    EXPECT_EQ(store_->latest_crl()->number, 1);  // no CRL for a refused revocation
}

TEST_F(CliLifecycleStore, RevokeBySubjectAndSanPublishesOneCrl) {
    std::int64_t later = std::int64_t(std::time(nullptr)) + 86400;
    for (const char* serial : {"0B01", "0B02", "0B03"}) {
        IssuedCert c = issued();
        c.serial_hex = serial;
        c.subject = std::string(serial) == "0B03" ? "CN=other" : "CN=laptop";
        c.sans = std::string(serial) == "0B03" ? "uri:IntuneDeviceId://42" : "";
        c.transaction_id = std::string("tx-") + serial;
        c.sha1_hex = c.sha256_hex = serial;
        c.not_after = later;
        store_->record_issuance(c, {c.transaction_id, "default", 19, "success", "", "", serial, "192.0.2.9", 1700000000});
    }
    auto by_subject = capture([] { return run_certs({"revoke", "--config", config_, "--subject", "laptop"}); });
    ASSERT_EQ(by_subject.exit_code, kExitOk) << by_subject.err;
    EXPECT_EQ(by_subject.out,
              "0B02: revoked (unspecified) CN=laptop\n0B01: revoked (unspecified) CN=laptop\n"
              "2 revoked; CRL 1 published\n");
    auto by_san = capture([] {
        return run_certs({"revoke", "--config", config_, "--san", "IntuneDeviceId://42", "--reason", "superseded"});
    });
    ASSERT_EQ(by_san.exit_code, kExitOk) << by_san.err;
    EXPECT_EQ(by_san.out, "0B03: revoked (superseded) CN=other\n1 revoked; CRL 2 published\n");
    EXPECT_EQ(store_->find_cert("0B03")->revocation_reason, 4);
    auto none = capture([] { return run_certs({"revoke", "--config", config_, "--subject", "laptop"}); });
    EXPECT_EQ(none.exit_code, kExitFailure);
    EXPECT_NE(none.err.find("no unrevoked, unexpired certificate with subject CN 'laptop'"), std::string::npos)
        << none.err;
    EXPECT_EQ(store_->latest_crl()->number, 2);
}

}  // namespace
}  // namespace scepter::cli
