// Shared plumbing of scepter-testclient: arguments, files, PEM/DER input,
// hex and JSON output.
#include "scepter/der.h"
#include "testclient.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

namespace scepter::testclient {

Args::Args(int argc, char** argv, int first, const std::set<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + a + "'");
        std::string name = a.substr(2);
        auto eq = name.find('=');
        if (eq != std::string::npos) {
            values_[name.substr(0, eq)] = name.substr(eq + 1);
        } else if (flags.count(name) != 0) {
            values_[name] = "1";
        } else if (i + 1 < argc) {
            values_[name] = argv[++i];
        } else {
            throw UsageError("option --" + name + " needs a value");
        }
    }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
}

std::string Args::require(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) throw UsageError("missing --" + name);
    return it->second;
}

void throw_openssl(const std::string& what) {
    std::string msg = what;
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        msg += "; ";
        msg += buf;
    }
    throw std::runtime_error(msg);
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const Bytes& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

void write_text(const std::string& path, const std::string& text) {
    write_file(path, Bytes(text.begin(), text.end()));
}

namespace {

bool looks_pem(const Bytes& b) {
    static const std::string marker = "-----BEGIN";
    return std::search(b.begin(), b.end(), marker.begin(), marker.end()) != b.end();
}

ossl::Bio mem_bio(const Bytes& b) {
    ossl::Bio bio(BIO_new_mem_buf(b.data(), static_cast<int>(b.size())));
    if (!bio) throw_openssl("BIO_new_mem_buf");
    return bio;
}

}  // namespace

ossl::PKey read_private_key(const std::string& path) {
    Bytes b = read_file(path);
    ERR_clear_error();
    ossl::Bio bio = mem_bio(b);
    EVP_PKEY* k = looks_pem(b) ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                               : d2i_PrivateKey_bio(bio.get(), nullptr);
    if (k == nullptr) throw_openssl("no private key in " + path);
    return ossl::PKey(k);
}

ossl::X509Req read_csr(const std::string& path) {
    Bytes b = read_file(path);
    ERR_clear_error();
    ossl::Bio bio = mem_bio(b);
    X509_REQ* r = looks_pem(b) ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr)
                               : d2i_X509_REQ_bio(bio.get(), nullptr);
    if (r == nullptr) throw_openssl("no certificate request in " + path);
    return ossl::X509Req(r);
}

ossl::X509Ptr read_cert(const std::string& path) {
    Bytes b = read_file(path);
    ERR_clear_error();
    ossl::Bio bio = mem_bio(b);
    X509* x = looks_pem(b) ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)
                           : d2i_X509_bio(bio.get(), nullptr);
    if (x == nullptr) throw_openssl("no certificate in " + path);
    return ossl::X509Ptr(x);
}

std::vector<ossl::X509Ptr> read_ca_certs(const std::string& path) {
    Bytes b = read_file(path);
    std::vector<ossl::X509Ptr> out;
    ERR_clear_error();
    if (looks_pem(b)) {
        ossl::Bio bio = mem_bio(b);
        while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
        ERR_clear_error();  // the loop ends on "no start line"
    } else {
        const unsigned char* p = b.data();
        X509* x = d2i_X509(nullptr, &p, static_cast<long>(b.size()));
        if (x != nullptr && p == b.data() + b.size()) {
            out.emplace_back(x);
        } else {
            ossl::X509Ptr drop(x);
            ERR_clear_error();
            out = read_certs_only(b);
        }
    }
    if (out.empty()) throw std::runtime_error("no certificates in " + path);
    return out;
}

std::string cert_to_pem(X509* cert) { return pem_encode(to_der(cert, i2d_X509), "CERTIFICATE"); }

Bytes parse_hex(const std::string& hex) {
    auto bytes = from_hex(hex);
    if (!bytes) throw UsageError("not an even number of hex digits: " + hex);
    return *bytes;
}

std::string name_rfc2253(const X509_NAME* name) {
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0)
        throw_openssl("X509_NAME_print_ex");
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

ContentCipher parse_cipher(const std::string& s) {
    if (s == "des") return ContentCipher::des;
    if (s == "des3") return ContentCipher::des3;
    if (s == "aes128") return ContentCipher::aes128;
    if (s == "aes192") return ContentCipher::aes192;
    if (s == "aes256") return ContentCipher::aes256;
    throw UsageError("unknown cipher '" + s + "' (des|des3|aes128|aes192|aes256)");
}

Digest parse_digest(const std::string& s) {
    if (s == "md5") return Digest::md5;
    if (s == "sha1") return Digest::sha1;
    if (s == "sha256") return Digest::sha256;
    if (s == "sha384") return Digest::sha384;
    if (s == "sha512") return Digest::sha512;
    throw UsageError("unknown digest '" + s + "' (md5|sha1|sha256|sha384|sha512)");
}

LegacyContext::LegacyContext() : ctx_(OSSL_LIB_CTX_new()) {
    if (!ctx_) throw_openssl("OSSL_LIB_CTX_new");
    default_.reset(OSSL_PROVIDER_load(ctx_.get(), "default"));
    if (!default_) throw_openssl("loading the default provider");
    legacy_.reset(OSSL_PROVIDER_load(ctx_.get(), "legacy"));
    if (!legacy_) throw_openssl("loading the legacy provider");
}

}  // namespace scepter::testclient
