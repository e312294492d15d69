// A temporary directory with an audit trail written the way the servers
// write it (AuditLog::step) or, for times in the past, as raw lines.
#pragma once

#include "audit/audit.h"
#include "scepter/text.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace scepter {

class TrailDir : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-trail-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        current_ = (dir_ / "audit.log").string();
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // One line as audit.cc writes it, at `time` (ISO 8601 with millis).
    static std::string line(const std::string& time, const std::string& tx, const std::string& step,
                            const std::string& outcome, const std::string& operation = "PKIOperation",
                            const std::string& client = "192.0.2.7", const std::string& detail = "",
                            const std::vector<std::pair<std::string, std::string>>& extra = {}) {
        std::string out = "{\"time\":" + json_quote(time) + ",\"id\":\"SCP2003\",\"step\":" + json_quote(step) +
                          ",\"outcome\":" + json_quote(outcome) + ",\"transaction_id\":" + json_quote(tx) +
                          ",\"profile\":\"default\",\"operation\":" + json_quote(operation) +
                          (operation == "PKIOperation" ? ",\"message_type\":\"PKCSReq\"" : "") +
                          ",\"client_ip\":" + json_quote(client) +
                          ",\"user_agent\":\"\",\"client_os\":\"unknown\"";
        for (const auto& [k, v] : extra) out += "," + json_quote(k) + ":" + json_quote(v);
        if (!detail.empty()) out += ",\"detail\":" + json_quote(detail);
        return out + "}\n";
    }

    void write(const std::string& name, const std::string& text) const {
        std::ofstream(dir_ / name, std::ios::binary) << text;
    }

    void write_gz(const std::string& name, const std::string& text) const {
        gzFile f = gzopen((dir_ / name).c_str(), "wb");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(gzwrite(f, text.data(), unsigned(text.size())), int(text.size()));
        gzclose(f);
    }

    std::filesystem::path dir_;
    std::string current_;
};

}  // namespace scepter
