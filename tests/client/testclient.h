// scepter-testclient: the project's own SCEP client for the integration
// tests, built on the core codec (scepter/pki_message.h). It speaks no HTTP:
// the tests move the bytes; this tool builds requests, reads CertReps and
// damages messages on purpose.
#pragma once

#include "scepter/config.h"
#include "scepter/ossl.h"
#include "scepter/pki_message.h"
#include "scepter/text.h"

#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace scepter::testclient {

// A command-line mistake: main prints it with the usage hint, exit code 2.
class UsageError : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "--name value" pairs and bare "--flag"s after the subcommand.
class Args {
   public:
    // flags: the options that take no value.
    Args(int argc, char** argv, int first, const std::set<std::string>& flags);

    bool has(const std::string& name) const { return values_.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback) const;
    std::string require(const std::string& name) const;  // throws UsageError

   private:
    std::map<std::string, std::string> values_;
};

// Files.
Bytes read_file(const std::string& path);
void write_file(const std::string& path, const Bytes& data);
void write_text(const std::string& path, const std::string& text);

// PEM or DER, detected by content.
ossl::PKey read_private_key(const std::string& path);
ossl::X509Req read_csr(const std::string& path);
ossl::X509Ptr read_cert(const std::string& path);
// A GetCACert answer: one DER certificate, a degenerate PKCS#7 (DER), or PEM
// certificates.
std::vector<ossl::X509Ptr> read_ca_certs(const std::string& path);
std::string cert_to_pem(X509* cert);

// Text helpers (hex, JSON and serials: scepter/text.h, util/cert_serial.h).
Bytes parse_hex(const std::string& hex);  // throws UsageError
std::string name_rfc2253(const X509_NAME* name);

ContentCipher parse_cipher(const std::string& s);
Digest parse_digest(const std::string& s);

// A library context with the default and legacy providers, so single DES
// works in the client whatever the system openssl.cnf says. Members are
// declared so that the providers unload before the context goes.
class LegacyContext {
   public:
    LegacyContext();
    OSSL_LIB_CTX* get() const noexcept { return ctx_.get(); }

   private:
    ossl::LibCtx ctx_;
    ossl::Provider default_;
    ossl::Provider legacy_;
};

// Throws std::runtime_error with the drained OpenSSL error queue appended.
[[noreturn]] void throw_openssl(const std::string& what);

// What a device builds (device.cc).
bool is_ca(X509* cert);
// The self-signed certificate a device signs its first request with
// (RFC 8894 §2.3). Windows clients mark an AuthorityKeyIdentifier critical
// (critical_aki), which a server must tolerate.
ossl::X509Ptr make_signer(EVP_PKEY* key, const X509_NAME* subject, bool critical_aki);
// RFC 8894 §3.2.1: the request goes to the RA's encryption certificate; the
// CA's own when it acts as RA. how: "auto", "all" (every certificate, which
// some clients do when they cannot tell) or a PEM file, kept in from_file.
std::vector<X509*> pick_recipients(const std::vector<ossl::X509Ptr>& certs, const std::string& how,
                                   ossl::X509Ptr& from_file);
// A PKCS#10 request for CN=common_name with the challengePassword, SHA-256.
ossl::X509Req make_csr(EVP_PKEY* key, const std::string& common_name, const std::string& challenge);
Bytes csr_der(X509_REQ* csr);
std::string public_key_sha256_hex(EVP_PKEY* key);
std::string private_key_to_pem(EVP_PKEY* key);

// Runs fn(job) for job 0..jobs-1 on as many threads; rethrows the first
// failure (batch, batch-replies).
template <typename Fn>
void in_parallel(unsigned jobs, Fn fn) {
    std::mutex mu;
    std::string first_error;
    std::vector<std::thread> threads;
    for (unsigned j = 0; j < jobs; ++j)
        threads.emplace_back([&, j] {
            try {
                fn(j);
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(mu);
                if (first_error.empty()) first_error = e.what();
            }
        });
    for (auto& t : threads) t.join();
    if (!first_error.empty()) throw std::runtime_error(first_error);
}

// What reading a CertRep needs (reply.cc), shared with batch-replies.
// Does the CertRep signer chain to one of these CA certificates?
bool chains_to(X509* signer, const std::vector<ossl::X509Ptr>& trusted);
struct Issued {
    ossl::X509Ptr cert;
    std::size_t count = 0;  // certificates in the degenerate PKCS#7
};
// The certificate for our key in a SUCCESS CertRep's decrypted content; with
// any_cert (GetCert for someone else's certificate), the first one. Throws.
Issued extract_issued(const Bytes& inner, EVP_PKEY* device_key, bool any_cert);
// ,"cert_subject",...,"certs_in_reply": the fields `reply` prints for it.
std::string issued_json(const Issued& issued);

// Subcommands; each returns the process exit code.
int run_request(const Args& args);
int run_reply(const Args& args);
int run_tamper(const Args& args);
int run_batch(const Args& args);
int run_batch_replies(const Args& args);

}  // namespace scepter::testclient
