// A worker that could not build its resources (store, status records,
// validation clients) refuses what needs them and issues nothing; the load
// refuses what it can see in advance.
#include "service/service.h"

#include "../../cli/demo_pki.h"
#include "config/config_paths.h"
#include "scepter/log_ids.h"
#include "test_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace scepter {
namespace {

class FailClosed : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-failclosed-XXXXXX";
        dir_ = mkdtemp(tmpl);
        config_ = cli::write_demo_pki({dir_ + "/pki"}).config_path;
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

    void append(const std::string& yaml) { std::ofstream(config_, std::ios::app) << yaml; }

    static Request request(const std::string& method, const std::string& query, const Bytes& body = {},
                           const std::string& route = "") {
        return Request{method, "/scep", query, "", "127.0.0.1", "", "", route, "", "", body.data(), body.size()};
    }

    // A PKCSReq as far as the refusal reads it: signed, with a transactionID
    // and a senderNonce.
    static Bytes pkcs_req(const Service& svc, Bytes& nonce) {
        ossl::PKey key = test::rsa_key();
        ossl::X509Ptr signer = test::self_signed(key.get(), "device");
        Bytes env = seal_envelope(Bytes{0x30, 0x00}, {svc.ca().ra_encryption.cert.get()}, ContentCipher::aes128,
                                  false, nullptr);
        ScepAttributes a;
        a.transaction_id = "tx-fail-closed";
        a.message_type = int(MessageType::pkcs_req);
        a.sender_nonce = nonce = make_nonce();
        return write_signed_message(env, a, signer.get(), key.get(), Digest::sha256);
    }

    static bool logged(const Response& r, const char* id, const std::string& text) {
        for (const auto& l : r.logs)
            if (l.text.rfind(id, 0) == 0 && l.text.find(text) != std::string::npos) return true;
        return false;
    }

    std::string dir_, config_;
};

TEST_F(FailClosed, WorkerWithoutItsStatusRecordsRefusesAndIssuesNothing) {
    const std::string status = dir_ + "/status";
    append("status_dir: " + status + "\n");
    auto svc = Service::load(config_);
    // After the load-time check: what a worker meets that the master could
    // not see.
    std::ofstream(status) << "not a directory";
    EXPECT_THROW(svc->worker_init(), std::runtime_error);

    Response caps = *svc->handle(request("GET", "operation=GetCACaps"), false);
    EXPECT_EQ(caps.status, 200);

    Bytes nonce;
    Bytes message = pkcs_req(*svc, nonce);
    Response r = *svc->handle(request("POST", "operation=PKIOperation", message), true);
    ASSERT_EQ(r.status, 200);
    SignedMessage rep = read_signed_message(r.body);
    EXPECT_EQ(rep.attrs.status, PkiStatus::failure);
    EXPECT_EQ(rep.attrs.fail_info, FailInfo::bad_request);
    EXPECT_NE(rep.attrs.fail_info_text.find("service_unavailable"), std::string::npos) << rep.attrs.fail_info_text;
    EXPECT_EQ(rep.attrs.recipient_nonce, nonce);
    EXPECT_TRUE(logged(r, SCEPTER_ID_WORKER_NOT_READY, "status_dir")) << (r.logs.empty() ? "" : r.logs[0].text);

    // where no CertRep fits: 503
    EXPECT_EQ(svc->handle(request("POST", "operation=PKIOperation", Bytes{0x30, 0x80}), true)->status, 503);
    EXPECT_EQ(svc->handle(request("GET", "", {}, "admin"), true)->status, 503);
    EXPECT_THROW(svc->store(), std::runtime_error);
}

TEST_F(FailClosed, WorkerBuildsEverythingOrNothing) {
    append("status_dir: " + dir_ + "/status\n");
    auto svc = Service::load(config_);
    svc->worker_init();
    EXPECT_NO_THROW(svc->store());
    EXPECT_EQ(access((dir_ + "/status/processing").c_str(), F_OK), 0);
}

TEST_F(FailClosed, LoadRefusesAStatusDirThatCannotBeMade) {
    append("status_dir: " + dir_ + "/missing/status\n");
    try {
        Service::load(config_);
        FAIL() << "loaded";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("key 'status_dir': '" + dir_ + "/missing/status' does not exist, nor "
                                             "does its parent directory"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(FailClosed, LoadRefusesAStoreDirectoryThatIsMissing) {
    std::string text;
    {
        std::ifstream in(config_);
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    text.replace(text.find("sqlite: state/scepter.db"), 24, "sqlite: nowhere/scepter.db");
    std::ofstream(config_, std::ios::trunc) << text;
    try {
        Service::load(config_);
        FAIL() << "loaded";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("key 'store.sqlite': the directory '"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("nowhere' does not exist"), std::string::npos) << e.what();
    }
}

// The master judges the workers' user by mode bits: a directory only its
// owner may write is refused for anyone else.
TEST_F(FailClosed, WorkerUserIsJudgedByModeBits) {
    const std::string status = dir_ + "/status";
    mkdir(status.c_str(), 0755);
    chmod(dir_.c_str(), 0755);                      // mkdtemp's 0700 would stop anyone else first
    chmod((dir_ + "/pki/state").c_str(), 0777);     // and so would the store's 0750
    append("status_dir: " + status + "\n");
    auto svc = Service::load(config_);
    uid_t other = geteuid() == 65534 ? 65533 : 65534;
    try {
        svc->check_worker_user("someone", other, other);
        FAIL() << "accepted";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("key 'status_dir': user 'someone' cannot write to '" + status + "'"),
                  std::string::npos)
            << e.what();
    }
    chmod(status.c_str(), 0777);
    EXPECT_NO_THROW(svc->check_worker_user("someone", other, other));
}

}  // namespace
}  // namespace scepter
