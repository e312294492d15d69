// Shared by the store's unit tests: a fresh directory per test and
// made-up certificates whose every field differs with n.
#pragma once

#include "scepter/store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace scepter::store_test {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-store-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = (dir_ / "scepter.db").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    std::string path_;
};

inline IssuedCert make_cert(int n) {
    char serial[40];
    std::snprintf(serial, sizeof serial, "7F%030X", unsigned(n));
    char sha1[41];
    std::snprintf(sha1, sizeof sha1, "%040x", unsigned(n) + 0x1000000u);
    char sha256[65];
    std::snprintf(sha256, sizeof sha256, "%064x", unsigned(n) + 0x2000000u);
    IssuedCert c;
    c.serial_hex = serial;
    c.subject = "CN=device-" + std::to_string(n) + ",O=Example";
    c.sans = "DNS:device-" + std::to_string(n) + ".example.com";
    c.sha1_hex = sha1;
    c.sha256_hex = sha256;
    c.not_before = 1700000000 + n;
    c.not_after = 1731536000 + n;
    c.template_name = "general_purpose";
    c.profile = "default";
    c.transaction_id = "tx-" + std::to_string(n);
    c.requester_ip = "192.0.2.7";
    c.issued_at = 1700000000 + n;
    c.der = {0x30, 0x82, 0x01, static_cast<unsigned char>(n & 0xff)};
    return c;
}

inline TransactionRecord make_tx(const IssuedCert& c) {
    TransactionRecord t;
    t.transaction_id = c.transaction_id;
    t.profile = c.profile;
    t.message_type = 19;
    t.status = "success";
    t.serial_hex = c.serial_hex;
    t.requester_ip = c.requester_ip;
    t.updated_at = c.issued_at;
    return t;
}

inline void expect_same(const IssuedCert& a, const IssuedCert& b) {
    EXPECT_EQ(a.serial_hex, b.serial_hex);
    EXPECT_EQ(a.subject, b.subject);
    EXPECT_EQ(a.sans, b.sans);
    EXPECT_EQ(a.sha1_hex, b.sha1_hex);
    EXPECT_EQ(a.sha256_hex, b.sha256_hex);
    EXPECT_EQ(a.not_before, b.not_before);
    EXPECT_EQ(a.not_after, b.not_after);
    EXPECT_EQ(a.template_name, b.template_name);
    EXPECT_EQ(a.profile, b.profile);
    EXPECT_EQ(a.transaction_id, b.transaction_id);
    EXPECT_EQ(a.requester_ip, b.requester_ip);
    EXPECT_EQ(a.issued_at, b.issued_at);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.revoked_at, b.revoked_at);
    EXPECT_EQ(a.revocation_reason, b.revocation_reason);
    EXPECT_EQ(a.der, b.der);
}

}  // namespace scepter::store_test
