#include "ca/ca_material.h"
#include "ca/token_key.h"
#include "scepter/der.h"

#include "scepter/openssl_error.h"
#include "util/digest_hex.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace scepter {
namespace {

struct FileCloser {
    void operator()(FILE* f) const noexcept { fclose(f); }
};

[[noreturn]] void fail(const Config& cfg, const std::string& key, const std::string& why) {
    throw ConfigError(cfg.path, cfg.line_of(key), key, why);
}

ossl::X509Ptr read_cert(const Config& cfg, const std::string& key, const std::string& path) {
    std::unique_ptr<FILE, FileCloser> f(fopen(path.c_str(), "r"));
    if (!f) fail(cfg, key, "cannot open '" + path + "'");
    clear_openssl_errors();
    ossl::X509Ptr cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
    if (!cert) fail(cfg, key, "'" + path + "' holds no PEM certificate");
    return cert;
}

ossl::PKey read_key(const Config& cfg, const std::string& key, const std::string& path) {
    std::unique_ptr<FILE, FileCloser> f(fopen(path.c_str(), "r"));
    if (!f) fail(cfg, key, "cannot open '" + path + "'");
    clear_openssl_errors();
    ossl::PKey pkey(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
    if (!pkey) fail(cfg, key, "'" + path + "' holds no unencrypted PEM private key");
    return pkey;
}


// The CA signs with RSA or ECDSA on a NIST curve: the keys every SCEP client
// verifies, and the ones ca_signature_digest has a digest for.
void check_ca_key(const Config& cfg, EVP_PKEY* key) {
    int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_RSA) return;
    char group[64] = {};
    if (id == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, nullptr) == 1) {
        std::string name = group;
        if (name == "prime256v1" || name == "secp384r1" || name == "secp521r1") return;
    }
    clear_openssl_errors();
    fail(cfg, "ca.key", "the CA key must be RSA or EC on P-256, P-384 or P-521");
}

bool has_key_usage(X509* cert, uint32_t bits) {
    uint32_t ku = X509_get_key_usage(cert);  // UINT32_MAX when absent: any use
    return (ku & bits) == bits;
}

void check_ra(const Config& cfg, const std::string& key, const KeyPair& ra, const KeyPair& ca,
              bool decrypts) {
    if (X509_check_issued(ca.cert.get(), ra.cert.get()) != X509_V_OK)
        fail(cfg, key + ".cert", "the RA certificate is not issued by the CA");
    // The certificate's key: a key in a token is loaded later, in the worker.
    if (decrypts && EVP_PKEY_get_base_id(X509_get0_pubkey(ra.cert.get())) != EVP_PKEY_RSA)
        fail(cfg, key + ".key", "the RA encryption key must be RSA (clients use key transport)");
    if (decrypts && !has_key_usage(ra.cert.get(), KU_KEY_ENCIPHERMENT | KU_DIGITAL_SIGNATURE))
        fail(cfg, key + ".cert", "the RA encryption certificate needs keyUsage digitalSignature and keyEncipherment");
    if (!has_key_usage(ra.cert.get(), KU_DIGITAL_SIGNATURE))
        fail(cfg, key + ".cert", "the RA certificate needs keyUsage digitalSignature");
}

KeyPair share(const KeyPair& p) { return KeyPair{ossl::up_ref(p.cert.get()), ossl::up_ref(p.key.get())}; }

// An RA pair; a key in a token is left null for load_ra_token_keys (never
// in a web server's master or parent).
KeyPair ra_pair(const Config& cfg, const std::string& name, const KeyPairFiles& files,
                const std::optional<TokenKeySettings>& token) {
    if (!token) return read_pair(cfg, name, files);
    return KeyPair{read_cert(cfg, name + ".cert", files.cert), ossl::PKey()};
}

// The token's key the settings name, checked to be the certificate's.
ossl::PKey load_checked(const TokenKeySettings& token, X509* cert, const std::string& cert_path) {
    ossl::PKey key = load_token_key(token);
    if (EVP_PKEY_eq(X509_get0_pubkey(cert), key.get()) != 1) {
        clear_openssl_errors();
        std::string cert_key = token.config_key.substr(0, token.config_key.size() - 4) + ".cert";  // ra.key -> ra.cert
        throw std::runtime_error(token.config_key + " (pkcs11): the token's key '" + token.uri + "' is not the key of " +
                                 cert_key + " '" + cert_path + "'");
    }
    return key;
}

void load_ra(const Config& cfg, CaMaterial& m) {
    if (!cfg.ra_signing) {
        if (EVP_PKEY_get_base_id(m.ca.key.get()) != EVP_PKEY_RSA)
            fail(cfg, "ca.key", "without an RA the CA key decrypts requests and must be RSA");
        m.ra_signing = share(m.ca);
        m.ra_encryption = share(m.ca);
        return;
    }
    m.ca_is_ra = false;
    std::string sign_key = cfg.ra_encryption ? "ra.signing" : "ra";
    m.ra_signing = ra_pair(cfg, sign_key, *cfg.ra_signing, cfg.ra_signing_token);
    check_ra(cfg, sign_key, m.ra_signing, m.ca, !cfg.ra_encryption);
    if (cfg.ra_encryption) {
        m.ra_encryption = ra_pair(cfg, "ra.encryption", *cfg.ra_encryption, cfg.ra_encryption_token);
        check_ra(cfg, "ra.encryption", m.ra_encryption, m.ca, true);
    } else {
        m.ra_encryption = share(m.ra_signing);
    }
}

void make_getcacert(CaMaterial& m) {
    if (m.ca_is_ra && m.chain.empty()) {
        m.getcacert_type = "application/x-x509-ca-cert";
        m.getcacert_body = to_der(m.ca.cert.get(), i2d_X509);
        return;
    }
    // RA certificates first (clients pick the RA by key usage), then the CA chain.
    std::vector<X509*> certs;
    if (!m.ca_is_ra) {
        certs.push_back(m.ra_signing.cert.get());
        if (X509_cmp(m.ra_encryption.cert.get(), m.ra_signing.cert.get()) != 0)
            certs.push_back(m.ra_encryption.cert.get());
    }
    certs.push_back(m.ca.cert.get());
    for (const auto& c : m.chain) certs.push_back(c.get());
    m.getcacert_type = "application/x-x509-ca-ra-cert";
    m.getcacert_body = write_certs_only(certs);
}

// GetNextCACert, signed by the current RA, so that a device trusts the rollover.
void sign_next_ca(CaMaterial& m) {
    std::vector<X509*> certs;
    for (const auto& c : m.next_certs) certs.push_back(c.get());
    m.getnextcacert_body = write_signed_data(write_certs_only(certs), m.ra_signing.cert.get(),
                                             m.ra_signing.key.get(), Digest::sha256);
}

void load_next_ca(const Config& cfg, CaMaterial& m) {
    if (!cfg.next_ca) return;
    for (const auto& path : cfg.next_ca->ra_certs) m.next_certs.push_back(read_cert(cfg, "next_ca.ra_certs", path));
    ossl::X509Ptr next = read_cert(cfg, "next_ca.cert", cfg.next_ca->cert);
    if (X509_check_ca(next.get()) == 0) fail(cfg, "next_ca.cert", "the next CA certificate is not a CA");
    m.next_certs.push_back(std::move(next));
    for (const auto& path : cfg.next_ca->chain) m.next_certs.push_back(read_cert(cfg, "next_ca.chain", path));
    if (m.ra_signing.key) sign_next_ca(m);  // else once load_ra_token_keys has the key
}

bool needs_legacy(const Config& cfg) {
    for (const auto& [name, p] : cfg.profiles)
        if (p.ciphers.count(ContentCipher::des)) return true;
    return false;
}

void load_legacy_context(const Config& cfg, CaMaterial& m) {
    if (!needs_legacy(cfg)) return;
    m.legacy_ctx.reset(OSSL_LIB_CTX_new());
    if (m.legacy_ctx) {
        m.legacy_provider.reset(OSSL_PROVIDER_load(m.legacy_ctx.get(), "legacy"));
        m.legacy_default_provider.reset(OSSL_PROVIDER_load(m.legacy_ctx.get(), "default"));
    }
    if (!m.legacy_provider || !m.legacy_default_provider)
        throw ConfigError(cfg.path, 0, "", "a profile allows single DES but OpenSSL's legacy provider cannot be loaded: " +
                                               drain_openssl_errors());
}

// Intune's certificate credential: RS256 is what Entra ID accepts for a
// client assertion, so the key must be RSA.
void load_intune_clients(const Config& cfg, CaMaterial& m) {
    for (const auto& [name, profile] : cfg.profiles) {
        if (!profile.intune || !profile.intune->client_certificate) continue;
        std::string key = "profiles." + name + ".intune";
        KeyPair pair = read_pair(cfg, key, *profile.intune->client_certificate, key + ".client_certificate",
                                 key + ".client_key");
        if (EVP_PKEY_get_base_id(pair.key.get()) != EVP_PKEY_RSA)
            fail(cfg, key + ".client_key", "must be an RSA key (Entra ID verifies client assertions with RS256)");
        m.intune_clients[name] = std::move(pair);
    }
}

}  // namespace

KeyPair read_pair(const Config& cfg, const std::string& key, const KeyPairFiles& files, const std::string& cert_key,
                  const std::string& key_key) {
    std::string ck = cert_key.empty() ? key + ".cert" : cert_key;
    std::string kk = key_key.empty() ? key + ".key" : key_key;
    KeyPair p{read_cert(cfg, ck, files.cert), read_key(cfg, kk, files.key)};
    if (X509_check_private_key(p.cert.get(), p.key.get()) != 1)
        fail(cfg, kk, "the key does not belong to the certificate '" + files.cert + "'");
    return p;
}

void load_ca_token_key(const Config& cfg, CaMaterial& m) {
    if (cfg.ca_token && !m.ca.key) m.ca.key = load_checked(*cfg.ca_token, m.ca.cert.get(), cfg.ca.cert);
}

void load_ra_token_keys(const Config& cfg, CaMaterial& m) {
    if (cfg.ra_signing_token && !m.ra_signing.key)
        m.ra_signing.key = load_checked(*cfg.ra_signing_token, m.ra_signing.cert.get(), cfg.ra_signing->cert);
    if (cfg.ra_encryption_token && !m.ra_encryption.key)
        m.ra_encryption.key = load_checked(*cfg.ra_encryption_token, m.ra_encryption.cert.get(), cfg.ra_encryption->cert);
    if (!cfg.ra_encryption && !m.ra_encryption.key) m.ra_encryption.key = ossl::up_ref(m.ra_signing.key.get());
    if (cfg.next_ca && m.getnextcacert_body.empty()) sign_next_ca(m);
}

void check_token_keys(const Config& cfg, const CaMaterial& m) {
    if (cfg.ca_token) load_checked(*cfg.ca_token, m.ca.cert.get(), cfg.ca.cert);
    if (cfg.ra_signing_token) load_checked(*cfg.ra_signing_token, m.ra_signing.cert.get(), cfg.ra_signing->cert);
    if (cfg.ra_encryption_token)
        load_checked(*cfg.ra_encryption_token, m.ra_encryption.cert.get(), cfg.ra_encryption->cert);
}

std::vector<std::pair<X509*, EVP_PKEY*>> CaMaterial::decryption_keys() const {
    std::vector<std::pair<X509*, EVP_PKEY*>> keys{{ra_encryption.cert.get(), ra_encryption.key.get()}};
    if (X509_cmp(ra_signing.cert.get(), ra_encryption.cert.get()) != 0 &&
        EVP_PKEY_get_base_id(X509_get0_pubkey(ra_signing.cert.get())) == EVP_PKEY_RSA)
        keys.emplace_back(ra_signing.cert.get(), ra_signing.key.get());
    return keys;
}

const EVP_MD* ca_signature_digest(EVP_PKEY* ca_key) {
    if (EVP_PKEY_get_base_id(ca_key) != EVP_PKEY_EC) return EVP_sha256();
    int bits = EVP_PKEY_get_bits(ca_key);
    return bits > 384 ? EVP_sha512() : bits > 256 ? EVP_sha384() : EVP_sha256();
}

std::string issuing_ca_name(const CaMaterial& m) {
    ossl::Buffer<char> name(X509_NAME_oneline(X509_get_subject_name(m.ca.cert.get()), nullptr, 0));
    return name ? name.get() : "";
}

std::string thumbprint(X509* cert, const EVP_MD* md) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    check(X509_digest(cert, md, buf, &len) == 1, "X509_digest");
    return to_hex(buf, len);
}

CaMaterial load_ca_material(const Config& cfg) {
    CaMaterial m;
    if (cfg.ca_token) {
        m.ca.cert = read_cert(cfg, "ca.cert", cfg.ca.cert);
        // Without an RA the CA key would decrypt every request and sign every
        // CertRep; in a token it signs certificates and CRLs only.
        if (!cfg.ra_signing)
            fail(cfg, "ca.key", "a CA key in a token needs an RA (ra:, its keys in files or in the token) to sign CertReps");
    } else {
        m.ca = read_pair(cfg, "ca", cfg.ca);
    }
    check_ca_key(cfg, X509_get0_pubkey(m.ca.cert.get()));
    if (X509_check_ca(m.ca.cert.get()) == 0) fail(cfg, "ca.cert", "the CA certificate is not a CA (basicConstraints)");
    for (const auto& path : cfg.ca_chain) m.chain.push_back(read_cert(cfg, "ca.chain", path));
    load_ra(cfg, m);
    load_legacy_context(cfg, m);
    make_getcacert(m);
    load_next_ca(cfg, m);
    load_intune_clients(cfg, m);
    return m;
}

}  // namespace scepter
