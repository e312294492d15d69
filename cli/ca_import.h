// `scepter init --import-ca FILE.p12`: an existing CA's key and certificate
// (what AD CS or `openssl pkcs12 -export` writes), checked before anything
// is written.
#pragma once

#include "scepter/ossl.h"

#include <string>
#include <vector>

namespace scepter::cli {

struct ImportedCa {
    ossl::PKey key;
    ossl::X509Ptr cert;
    std::vector<ossl::X509Ptr> chain;  // the CA's issuer first, up to the root, as far as the file has it
};

// Throws std::runtime_error with what is wrong: an unreadable file, a wrong
// password, no key or certificate, a key that is not the certificate's, a
// certificate that is not a CA (CA:TRUE, keyCertSign) or not valid now.
ImportedCa read_ca_p12(const std::string& path, const std::string& password);

// A subordinate CA after the corporate root signed its request: the key
// `scepter init --subordinate` wrote, the signed certificate, and a PEM file
// with the root (and any intermediates). Throws as read_ca_p12 does, and
// when the certificate does not chain to a self-signed certificate of that
// file.
ImportedCa read_signed_subordinate(const std::string& key_path, const std::string& cert_path,
                                   const std::string& chain_path);

// One PEM private key / the first PEM certificate of a file; throws
// "PATH: why" when there is none.
ossl::PKey read_pem_key(const std::string& path);
ossl::X509Ptr read_pem_cert(const std::string& path);

// The PKCS#12 password: the first line of password_file when given; else
// asked on the terminal without echo; else the first line of stdin. Never
// a command-line argument, so that it stays out of `ps` and shell history.
std::string read_p12_password(const std::string& password_file);

}  // namespace scepter::cli
