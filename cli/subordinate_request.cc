// `scepter init --subordinate`: the issuing CA's key and the PKCS#10 request
// that the corporate root signs (AD CS's Subordinate Certification Authority
// template, or `openssl ca`). `--install-ca-cert` (ca_import.cc) takes the
// signed certificate back.
#include "demo_pki.h"
#include "x509_build.h"

#include "scepter/files.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <filesystem>

namespace scepter::cli {
namespace {

namespace fs = std::filesystem;

// The CA powers the request asks the root for; the root decides.
void request_ca_extensions(X509_REQ* req) {
    ossl::ExtStack exts(sk_X509_EXTENSION_new_null());
    for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                              std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, nid, value);
        ossl_check(ext != nullptr && sk_X509_EXTENSION_push(exts.get(), ext) > 0, "building the request's extensions");
    }
    ossl_check(X509_REQ_add_extensions(req, exts.get()) == 1, "adding the request's extensions");
}

}  // namespace

std::string write_subordinate_request(const DemoPkiOptions& options) {
    ERR_clear_error();
    const CaKeyChoice& ca_key = ca_key_choice(options.ca_key);
    const fs::path dir = fs::absolute(options.dir);
    fs::create_directories(dir);
    if (!options.force) refuse_existing_files(dir, {kCaKeyFile, kCaRequestFile});
    ossl::PKey key = generate_key(ca_key);
    ossl::X509Req req(X509_REQ_new());
    const auto* cn = reinterpret_cast<const unsigned char*>(options.ca_common_name.c_str());
    ossl_check(req && X509_REQ_set_version(req.get(), 0) == 1 &&
                   X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8, cn, -1, -1,
                                              0) == 1 &&
                   X509_REQ_set_pubkey(req.get(), key.get()) == 1,
               "building the request");
    request_ca_extensions(req.get());
    ossl_check(X509_REQ_sign(req.get(), key.get(), digest_for(key.get())) > 0, "signing the request");
    write_key(dir / kCaKeyFile, key.get());
    write_new_file((dir / kCaRequestFile).string(), request_pem(req.get()), 0644);
    return (dir / kCaRequestFile).string();
}

}  // namespace scepter::cli
