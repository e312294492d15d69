#include "ca/public_key_copy.h"

#include "scepter/openssl_error.h"
#include "scepter/ossl.h"

namespace scepter {

void set_public_key(X509_PUBKEY* to, const X509_ALGOR* alg, const unsigned char* key, int key_len) {
    const ASN1_OBJECT* oid = nullptr;
    int param_type = V_ASN1_UNDEF;
    const void* param = nullptr;
    X509_ALGOR_get0(&oid, &param_type, &param, alg);
    void* param_copy = nullptr;  // owned by the X509_PUBKEY once set
    if (param_type == V_ASN1_OBJECT) param_copy = OBJ_dup(static_cast<const ASN1_OBJECT*>(param));
    else if (param != nullptr) param_copy = ASN1_STRING_dup(static_cast<const ASN1_STRING*>(param));
    check(param == nullptr || param_copy != nullptr, "public key parameters");
    ossl::Asn1Object oid_copy(OBJ_dup(oid));
    ossl::Buffer<unsigned char> key_copy(static_cast<unsigned char*>(OPENSSL_memdup(key, std::size_t(key_len))));
    check(oid_copy && key_copy, "public key copy");
    check(X509_PUBKEY_set0_param(to, oid_copy.get(), param_type, param_copy, key_copy.get(), key_len) == 1,
          "X509_PUBKEY_set0_param");
    oid_copy.release();  // the X509_PUBKEY owns them now
    key_copy.release();
}

}  // namespace scepter
