// The one place where OpenSSL objects get owners.
//
// Every OpenSSL type the project touches has exactly one unique_ptr alias
// here, with a stateless noexcept deleter. Constructing from a raw pointer
// always adopts it; borrowed reference-counted objects are taken with up_ref().
// No other file calls a *_free function.
#pragma once

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

namespace scepter::ossl {

template <auto FreeFn>
struct Deleter {
    template <typename T>
    void operator()(T* p) const noexcept { FreeFn(p); }
};

template <typename T, auto FreeFn>
using Owned = std::unique_ptr<T, Deleter<FreeFn>>;

using Bio = Owned<BIO, BIO_free_all>;
using Bignum = Owned<BIGNUM, BN_free>;
using Asn1Object = Owned<ASN1_OBJECT, ASN1_OBJECT_free>;
using Asn1String = Owned<ASN1_STRING, ASN1_STRING_free>;
using Asn1Integer = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1Time = Owned<ASN1_TIME, ASN1_TIME_free>;
using Asn1Type = Owned<ASN1_TYPE, ASN1_TYPE_free>;
using Cms = Owned<CMS_ContentInfo, CMS_ContentInfo_free>;
using Pkcs7 = Owned<PKCS7, PKCS7_free>;
using Pkcs12 = Owned<PKCS12, PKCS12_free>;
using PKey = Owned<EVP_PKEY, EVP_PKEY_free>;
using PKeyCtx = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using MdCtx = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;
using Cipher = Owned<EVP_CIPHER, EVP_CIPHER_free>;
using Md = Owned<EVP_MD, EVP_MD_free>;
using X509Ptr = Owned<X509, X509_free>;
using X509Req = Owned<X509_REQ, X509_REQ_free>;
using X509Name = Owned<X509_NAME, X509_NAME_free>;
using X509Ext = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using X509Store = Owned<X509_STORE, X509_STORE_free>;
using X509StoreCtx = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;
using Crl = Owned<X509_CRL, X509_CRL_free>;
using Revoked = Owned<X509_REVOKED, X509_REVOKED_free>;
using IssuerAndSerial = Owned<PKCS7_ISSUER_AND_SERIAL, PKCS7_ISSUER_AND_SERIAL_free>;
using GeneralNames = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using GeneralName = Owned<GENERAL_NAME, GENERAL_NAME_free>;
using BasicConstraints = Owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using ExtKeyUsage = Owned<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
using Asn1BitString = Owned<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using Asn1OctetString = Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using RsaPssParams = Owned<RSA_PSS_PARAMS, RSA_PSS_PARAMS_free>;
using LibCtx = Owned<OSSL_LIB_CTX, OSSL_LIB_CTX_free>;
using Provider = Owned<OSSL_PROVIDER, OSSL_PROVIDER_unload>;
using OcspRequest = Owned<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponse = Owned<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicResp = Owned<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertId = Owned<OCSP_CERTID, OCSP_CERTID_free>;

inline void free_x509_stack(STACK_OF(X509) * s) noexcept { sk_X509_pop_free(s, X509_free); }
inline void free_ext_stack(STACK_OF(X509_EXTENSION) * s) noexcept {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using X509Stack = Owned<STACK_OF(X509), free_x509_stack>;
using ExtStack = Owned<STACK_OF(X509_EXTENSION), free_ext_stack>;

// Takes a counted reference to an object someone else owns.
inline X509Ptr up_ref(X509* x) noexcept {
    if (x != nullptr) X509_up_ref(x);
    return X509Ptr(x);
}
inline PKey up_ref(EVP_PKEY* k) noexcept {
    if (k != nullptr) EVP_PKEY_up_ref(k);
    return PKey(k);
}

// Frees a buffer OpenSSL allocated (i2d_* output, X509_NAME_oneline, ...).
struct OpensslFree {
    void operator()(void* p) const noexcept { OPENSSL_free(p); }
};
template <typename T>
using Buffer = std::unique_ptr<T, OpensslFree>;

}  // namespace scepter::ossl
