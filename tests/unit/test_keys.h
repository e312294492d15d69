// Small key and certificate factory for the core's unit tests.
#pragma once

#include "scepter/ossl.h"

#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <string>

namespace scepter::test {

inline ossl::PKey rsa_key(unsigned bits = 2048) { return ossl::PKey(EVP_RSA_gen(bits)); }

// A self-signed certificate for key, with the given keyUsage text.
inline ossl::X509Ptr self_signed(EVP_PKEY* key, const std::string& cn,
                                 const std::string& key_usage = "digitalSignature,keyEncipherment") {
    ossl::X509Ptr x(X509_new());
    X509_set_version(x.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(x.get(), name);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
    X509_set_pubkey(x.get(), key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    ossl::X509Ext ku(X509V3_EXT_conf_nid(nullptr, &ctx, NID_key_usage, key_usage.c_str()));
    X509_add_ext(x.get(), ku.get(), -1);
    X509_sign(x.get(), key, EVP_sha256());
    return x;
}

}  // namespace scepter::test
