#include "ca_import.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace scepter::cli {
namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
    ERR_clear_error();
    throw std::runtime_error(path + ": " + why);
}

std::vector<ossl::X509Ptr> ordered_chain(X509* ca, STACK_OF(X509) * extra) {
    std::vector<ossl::X509Ptr> out;
    X509* child = ca;
    // Walk issuer by issuer; what does not continue the path is left out.
    for (int hop = 0; hop < sk_X509_num(extra) && X509_check_issued(child, child) != X509_V_OK; ++hop) {
        X509* parent = nullptr;
        for (int i = 0; i < sk_X509_num(extra) && !parent; ++i)
            if (X509_check_issued(sk_X509_value(extra, i), child) == X509_V_OK) parent = sk_X509_value(extra, i);
        if (!parent) break;
        out.push_back(ossl::up_ref(parent));
        child = parent;
    }
    return out;
}

std::string first_line(std::istream& in) {
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

// What every CA taken in must be, however it came.
void check_ca(const std::string& path, const ImportedCa& ca) {
    if (!ca.key || !ca.cert) refuse(path, "holds no private key with its certificate");
    if (X509_check_private_key(ca.cert.get(), ca.key.get()) != 1)
        refuse(path, "the private key is not the certificate's");
    if (X509_check_ca(ca.cert.get()) < 1 || !(X509_get_key_usage(ca.cert.get()) & KU_KEY_CERT_SIGN))
        refuse(path, "the certificate is not a CA certificate (it needs CA:TRUE and keyCertSign)");
    if (X509_cmp_current_time(X509_get0_notAfter(ca.cert.get())) <= 0)
        refuse(path, "the CA certificate has expired");
}

ossl::X509Stack read_pem_certs(const std::string& path) {
    ossl::Bio file(BIO_new_file(path.c_str(), "r"));
    if (!file) refuse(path, "cannot be read");
    ossl::X509Stack certs(sk_X509_new_null());
    while (X509* c = PEM_read_bio_X509(file.get(), nullptr, nullptr, nullptr)) sk_X509_push(certs.get(), c);
    ERR_clear_error();  // the end of the file reads as an error
    if (sk_X509_num(certs.get()) == 0) refuse(path, "holds no PEM certificate");
    return certs;
}

// cert must reach a self-signed certificate of `chain` through the others.
void check_chains_to_root(const std::string& cert_path, X509* cert, STACK_OF(X509) * chain) {
    ossl::X509Store roots(X509_STORE_new());
    ossl::X509Stack between(sk_X509_new_null());
    for (int i = 0; i < sk_X509_num(chain); ++i) {
        X509* c = sk_X509_value(chain, i);
        if (X509_check_issued(c, c) == X509_V_OK) X509_STORE_add_cert(roots.get(), c);
        else sk_X509_push(between.get(), c);
    }
    ossl::X509StoreCtx ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), roots.get(), cert, between.get());
    if (X509_verify_cert(ctx.get()) != 1)
        refuse(cert_path, std::string("does not chain to the given root: ") +
                              X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

}  // namespace

ossl::PKey read_pem_key(const std::string& path) {
    ossl::Bio file(BIO_new_file(path.c_str(), "r"));
    if (!file) refuse(path, "cannot be read");
    ossl::PKey key(PEM_read_bio_PrivateKey(file.get(), nullptr, nullptr, nullptr));
    if (!key) refuse(path, "is not a PEM private key");
    return key;
}

ossl::X509Ptr read_pem_cert(const std::string& path) {
    ossl::X509Stack certs = read_pem_certs(path);
    return ossl::up_ref(sk_X509_value(certs.get(), 0));
}

ImportedCa read_signed_subordinate(const std::string& key_path, const std::string& cert_path,
                                   const std::string& chain_path) {
    if (access(key_path.c_str(), R_OK) != 0) refuse(key_path, "cannot be read (run scepter init --subordinate first)");
    ImportedCa ca{read_pem_key(key_path), read_pem_cert(cert_path), {}};
    check_ca(cert_path, ca);
    ossl::X509Stack chain = read_pem_certs(chain_path);
    check_chains_to_root(cert_path, ca.cert.get(), chain.get());
    ca.chain = ordered_chain(ca.cert.get(), chain.get());
    return ca;
}

ImportedCa read_ca_p12(const std::string& path, const std::string& password) {
    ossl::Bio file(BIO_new_file(path.c_str(), "rb"));
    if (!file) refuse(path, "cannot be read");
    ossl::Pkcs12 p12(d2i_PKCS12_bio(file.get(), nullptr));
    if (!p12) refuse(path, "is not a PKCS#12 file");
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* extra = nullptr;
    if (PKCS12_parse(p12.get(), password.c_str(), &key, &cert, &extra) != 1) {
        // Older Windows exports protect the certificates with RC2-40, which
        // OpenSSL 3 keeps in its legacy provider. This is the CLI, not a web
        // server: loading it here touches nobody's TLS.
        ERR_clear_error();
        static ossl::Provider legacy(OSSL_PROVIDER_load(nullptr, "legacy"));
        static ossl::Provider fallback(OSSL_PROVIDER_load(nullptr, "default"));
        if (!legacy || PKCS12_parse(p12.get(), password.c_str(), &key, &cert, &extra) != 1)
            refuse(path, "cannot be opened: wrong password (or a cipher this OpenSSL does not offer)");
    }
    ImportedCa ca{ossl::PKey(key), ossl::X509Ptr(cert), {}};
    ossl::X509Stack others(extra);
    check_ca(path, ca);
    if (others) ca.chain = ordered_chain(ca.cert.get(), others.get());
    return ca;
}

std::string read_p12_password(const std::string& password_file) {
    if (!password_file.empty()) {
        std::ifstream in(password_file);
        if (!in) throw std::runtime_error(password_file + ": cannot be read");
        return first_line(in);
    }
    if (!isatty(STDIN_FILENO)) return first_line(std::cin);
    std::cerr << "PKCS#12 password: " << std::flush;
    termios saved{};
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~tcflag_t(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    std::string password = first_line(std::cin);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
    return password;
}

}  // namespace scepter::cli
