#include "ca/csr_checks.h"

#include "scepter/openssl_error.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>

namespace scepter {
namespace {

constexpr int kMaxRsaBits = 16384;
constexpr std::array<const char*, 3> kAllowedCurves = {"prime256v1", "secp384r1", "secp521r1"};

void check_rsa_key(EVP_PKEY* key) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &raw) != 1) {
        clear_openssl_errors();
        throw ScepFailure(FailInfo::bad_request, "the CSR's RSA public exponent cannot be read");
    }
    ossl::Bignum e(raw);
    ossl::Bignum f4(BN_new());
    if (!f4 || BN_set_word(f4.get(), RSA_F4) != 1) throw std::runtime_error("BN_set_word failed");
    // Exponent 1 lets anyone forge signatures; 3 and other small ones invite
    // the padding attacks that 65537 was chosen to avoid.
    if (!BN_is_odd(e.get()) || BN_cmp(e.get(), f4.get()) < 0)
        throw ScepFailure(FailInfo::bad_request, "the CSR's RSA public exponent is weak (an odd exponent of at "
                                                 "least 65537 is required)");
    if (EVP_PKEY_get_bits(key) > kMaxRsaBits)
        throw ScepFailure(FailInfo::bad_request, "the CSR's RSA key is larger than " + std::to_string(kMaxRsaBits) +
                                                     " bits");
}

void check_ec_key(EVP_PKEY* key) {
    int explicit_params = 0;
    if (EVP_PKEY_get_int_param(key, OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, &explicit_params) == 1 &&
        explicit_params != 0)
        throw ScepFailure(FailInfo::bad_alg, "the CSR's EC key carries explicit curve parameters; only named "
                                             "curves are certified");
    char group[80] = {0};
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, nullptr) != 1) {
        clear_openssl_errors();
        throw ScepFailure(FailInfo::bad_alg, "the CSR's EC key names no curve");
    }
    for (const char* allowed : kAllowedCurves)
        if (std::strcmp(group, allowed) == 0) return;
    throw ScepFailure(FailInfo::bad_alg, std::string("the CSR's EC curve ") + group +
                                             " is not certified (P-256, P-384, P-521)");
}

}  // namespace

void check_name_text(const std::string& what, const std::string& value, std::size_t max_bytes) {
    if (value.size() > max_bytes)
        throw ScepFailure(FailInfo::bad_request, what + " is " + std::to_string(value.size()) +
                                                     " bytes long; the limit is " + std::to_string(max_bytes));
    for (unsigned char c : value)
        if (c < 0x20 || c == 0x7F)
            throw ScepFailure(FailInfo::bad_request, what + " holds a NUL or control character");
}

void check_csr_names(const CsrInfo& csr, const InputLimits& limits) {
    if (csr.subject_text.size() > limits.max_subject_bytes)
        throw ScepFailure(FailInfo::bad_request, "the subject is " + std::to_string(csr.subject_text.size()) +
                                                     " bytes long; the limit is " +
                                                     std::to_string(limits.max_subject_bytes));
    for (const auto& a : csr.subject) check_name_text("the subject's " + a.short_name, a.value, limits.max_name_bytes);
    if (csr.sans.size() > limits.max_sans)
        throw ScepFailure(FailInfo::bad_request, "the CSR asks for " + std::to_string(csr.sans.size()) +
                                                     " subject alternative names; the limit is " +
                                                     std::to_string(limits.max_sans));
    for (const auto& san : csr.sans) check_name_text("the " + san.type + " SAN", san.value, limits.max_name_bytes);
}

void check_public_key(EVP_PKEY* key) {
    switch (EVP_PKEY_get_base_id(key)) {
        case EVP_PKEY_RSA: return check_rsa_key(key);
        case EVP_PKEY_EC: return check_ec_key(key);
        default: {
            const char* name = EVP_PKEY_get0_type_name(key);
            throw ScepFailure(FailInfo::bad_alg, std::string("the CSR's key type ") + (name ? name : "unknown") +
                                                     " is not certified (rsa, ec)");
        }
    }
}

}  // namespace scepter
