// The small shared helpers (scepter/text.h, scepter/files.h,
// util/cert_serial.h): exact formats, and JSON that is valid for any bytes.
#include "scepter/cert_serial.h"
#include "scepter/files.h"
#include "scepter/ossl.h"
#include "scepter/text.h"
#include "util/digest_hex.h"
#include "util/json_flat.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace scepter {
namespace {

using Bytes = std::vector<unsigned char>;

TEST(UtilTime, Iso8601Seconds) {
    EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(iso8601_utc(1795588200), "2026-11-25T06:30:00Z");
    EXPECT_EQ(iso8601_utc(253402300799), "9999-12-31T23:59:59Z");
    EXPECT_EQ(iso8601_utc(-1), "1969-12-31T23:59:59Z");
}

TEST(UtilTime, Iso8601Millis) {
    EXPECT_EQ(iso8601_utc_millis(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(iso8601_utc_millis(1795588200), "2026-11-25T06:30:00.000Z");
    EXPECT_EQ(iso8601_utc_millis(253402300799), "9999-12-31T23:59:59.000Z");
    EXPECT_EQ(iso8601_utc_millis(1795588200, 7), "2026-11-25T06:30:00.007Z");
    EXPECT_EQ(iso8601_utc_millis(1795588200, 999), "2026-11-25T06:30:00.999Z");
    EXPECT_THROW(iso8601_utc_millis(0, 1000), std::invalid_argument);
    EXPECT_THROW(iso8601_utc(INT64_MAX), std::invalid_argument);
}

TEST(UtilTime, NowHasMillis) {
    std::string now = iso8601_utc_now_millis();
    ASSERT_EQ(now.size(), 24u) << now;
    EXPECT_EQ(now[10], 'T');
    EXPECT_EQ(now[19], '.');
    EXPECT_EQ(now.back(), 'Z');
}

TEST(UtilJson, EscapesQuotesAndControls) {
    EXPECT_EQ(json_escape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
    EXPECT_EQ(json_escape(std::string("\r\t\b\f\x1f\0", 6)), "\\r\\t\\u0008\\u000c\\u001f\\u0000");
    EXPECT_EQ(json_escape("caf\xC3\xA9 \xE2\x82\xAC /"), "caf\xC3\xA9 \xE2\x82\xAC /");  // valid UTF-8 stays
    EXPECT_EQ(json_quote("x"), "\"x\"");
}

TEST(UtilJson, ReplacesInvalidUtf8) {
    EXPECT_EQ(json_escape("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
    EXPECT_EQ(json_escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
    EXPECT_EQ(json_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
    EXPECT_EQ(json_escape("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
}

// Every single byte, every pair of bytes, and a few longer nasty strings:
// what json_quote writes is a JSON string the strict reader accepts.
TEST(UtilJson, AnyBytesMakeValidJson) {
    auto reads_back = [](const std::string& s) {
        try {
            auto o = parse_flat_json("{\"k\":" + json_quote(s) + "}");
            return o["k"].text == utf8_sanitize(s);
        } catch (const JsonError& e) {
            ADD_FAILURE() << e.what();
            return false;
        }
    };
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            std::string s{char(a), char(b)};
            ASSERT_TRUE(reads_back(s)) << a << " " << b;
        }
    }
    ASSERT_TRUE(reads_back(std::string("x\xFF\xC0\xAF\"\\\n\t\x7f\xE2\x82\0\xF4\x90\x80\x80", 16)));
}

TEST(UtilBase64, EncodesPadded) {
    EXPECT_EQ(base64_encode(Bytes{}), "");
    EXPECT_EQ(base64_encode(Bytes{'h'}), "aA==");
    EXPECT_EQ(base64_encode(Bytes{'h', 'i'}), "aGk=");
    EXPECT_EQ(base64_encode(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}), "MAMCAQA=");
    EXPECT_EQ(base64_encode(Bytes{0xFB, 0xFF}), "+/8=");
}

TEST(UtilBase64, DecodesWithPaddingLineBreaksAndSpacesForPlus) {
    EXPECT_EQ(base64_decode("aGk="), (Bytes{'h', 'i'}));
    EXPECT_EQ(base64_decode("aGVs\nbG8="), (Bytes{'h', 'e', 'l', 'l', 'o'}));
    EXPECT_EQ(base64_decode("aGVs\r\nbG8="), (Bytes{'h', 'e', 'l', 'l', 'o'}));
    EXPECT_EQ(base64_decode("+/8="), base64_decode(" /8="));
    EXPECT_EQ(base64_decode("+/8="), (Bytes{0xFB, 0xFF}));
}

TEST(UtilBase64, RejectsWhatIsNotBase64) {
    EXPECT_FALSE(base64_decode("").has_value());
    EXPECT_FALSE(base64_decode("abc").has_value());
    EXPECT_FALSE(base64_decode("ab!d").has_value());
    EXPECT_FALSE(base64_decode("a===").has_value());
}

TEST(UtilBase64, RoundTrips) {
    Bytes all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<unsigned char>(i));
    for (std::size_t n = 1; n <= all.size(); n += 37) {
        Bytes part(all.begin(), all.begin() + long(n));
        EXPECT_EQ(base64_decode(base64_encode(part)), part) << n;
    }
}

TEST(UtilHex, EncodesLowerAndDecodesEitherCase) {
    EXPECT_EQ(to_hex(Bytes{}), "");
    EXPECT_EQ(to_hex(Bytes{0x00, 0x0A, 0xFF}), "000aff");
    EXPECT_EQ(from_hex("000aff"), (Bytes{0x00, 0x0A, 0xFF}));
    EXPECT_EQ(from_hex("000AFF"), (Bytes{0x00, 0x0A, 0xFF}));
    EXPECT_EQ(from_hex(""), Bytes{});
    EXPECT_FALSE(from_hex("abc").has_value());
    EXPECT_FALSE(from_hex("zz").has_value());
    EXPECT_FALSE(from_hex("0x").has_value());
}

TEST(UtilHex, CanonicalDigestHex) {
    std::string upper(64, 'A'), lower(64, 'a');
    EXPECT_EQ(canonical_digest_hex(upper, 32), lower);
    EXPECT_EQ(canonical_digest_hex(lower, 32), lower);
    EXPECT_EQ(canonical_digest_hex(digest_hex("x", EVP_sha256()), 32), digest_hex("x", EVP_sha256()));
    EXPECT_FALSE(canonical_digest_hex(std::string(62, 'a'), 32).has_value());
    EXPECT_FALSE(canonical_digest_hex(std::string(63, 'a') + "g", 32).has_value());
}

TEST(UtilHex, CertificateSerialIsUpperCaseBnForm) {
    BIGNUM* raw = nullptr;
    ASSERT_GT(BN_hex2bn(&raw, "0a1b2c"), 0);
    ossl::Bignum owned(raw);
    EXPECT_EQ(serial_hex(owned.get()), "0A1B2C");
    ossl::Asn1Integer asn1(BN_to_ASN1_INTEGER(owned.get(), nullptr));
    EXPECT_EQ(serial_hex(asn1.get()), "0A1B2C");
    EXPECT_EQ(serial_hex(static_cast<const ASN1_INTEGER*>(nullptr)), "");
}

TEST(UtilNumber, ParsesTheWholeTextOnly) {
    EXPECT_EQ(parse_int("42"), 42);
    EXPECT_EQ(parse_int("ff", 16), 255);
    EXPECT_EQ(parse_int("9223372036854775807"), INT64_MAX);
    EXPECT_EQ(parse_int(""), std::nullopt);
    EXPECT_EQ(parse_int(" 1"), std::nullopt);
    EXPECT_EQ(parse_int("+1"), std::nullopt);
    EXPECT_EQ(parse_int("-1"), std::nullopt);
    EXPECT_EQ(parse_int("1 "), std::nullopt);
    EXPECT_EQ(parse_int("12ms"), std::nullopt);
    EXPECT_EQ(parse_int("9223372036854775808"), std::nullopt);
}

TEST(UtilPem, WrapsDerAsOpenSslDoes) {
    Bytes der(100);
    for (std::size_t i = 0; i < der.size(); ++i) der[i] = static_cast<unsigned char>(i);
    std::string b64 = base64_encode(der), lines;
    for (std::size_t at = 0; at < b64.size(); at += 64) lines += b64.substr(at, 64) + "\n";
    EXPECT_EQ(pem_encode(der, "CERTIFICATE REQUEST"),
              "-----BEGIN CERTIFICATE REQUEST-----\n" + lines + "-----END CERTIFICATE REQUEST-----\n");
}

class UtilFiles : public ::testing::Test {
   protected:
    void SetUp() override {
        char tmpl[] = "/tmp/scepter-util-XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
    std::string dir_;
};

std::string contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(UtilFiles, WritesNewFilesWithTheirMode) {
    std::string path = dir_ + "/key.pem";
    ASSERT_EQ(::close(::open(path.c_str(), O_WRONLY | O_CREAT, 0644)), 0);  // looser, replaced
    write_new_file(path, "secret", 0600);
    EXPECT_EQ(contents(path), "secret");
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::string link = dir_ + "/link";
    ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
    write_new_file(link, "new", 0600);  // the link is replaced, its target untouched
    EXPECT_EQ(contents(path), "secret");
    EXPECT_EQ(contents(link), "new");
    EXPECT_THROW(write_new_file(dir_ + "/missing/x", "", 0600), std::runtime_error);
}

TEST_F(UtilFiles, WriteAllWritesEverything) {
    std::string path = dir_ + "/big";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    std::string data(1 << 20, 'x');
    write_all(fd, data, path);
    ::close(fd);
    EXPECT_EQ(contents(path), data);
    EXPECT_THROW(write_all(-1, "x", path), std::runtime_error);
}

TEST_F(UtilFiles, MakesDirectoriesOnce) {
    std::string sub = dir_ + "/sub";
    make_directory(sub, 0750);
    make_directory(sub, 0750);  // already there: fine
    struct stat st {};
    ASSERT_EQ(::stat(sub.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    write_new_file(dir_ + "/file", "", 0600);
    EXPECT_THROW(make_directory(dir_ + "/file", 0750), std::runtime_error);
}

TEST(LogSafe, ControlCharactersAreEscapedTheRestKept) {
    EXPECT_EQ(log_safe("a\nb\r\tc\x1b[0m\x7f"), "a\\x0Ab\\x0D\\x09c\\x1B[0m\\x7F");
    EXPECT_EQ(log_safe(std::string("x\0y", 3)), "x\\x00y");
    EXPECT_EQ(log_safe("caf\xC3\xA9 [ok]"), "caf\xC3\xA9 [ok]");
}

}  // namespace
}  // namespace scepter
