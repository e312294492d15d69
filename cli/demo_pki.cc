#include "demo_pki.h"

#include "ca_import.h"

#include "scepter/files.h"
#include "scepter/ossl.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace scepter::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kRaRsaBits = 2048;
constexpr int kSerialBytes = 16;  // 128 random bits (CA/B Forum asks for >= 64)
constexpr long kCaDays = 3650;
constexpr long kRaDays = 730;
// Back-date notBefore a little so a client whose clock lags still accepts.
constexpr long kBackdateSeconds = 300;

// Throws with the drained OpenSSL error queue when ok is false.
void ossl_check(bool ok, const std::string& what) {
    if (ok) return;
    std::string why;
    while (unsigned long code = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        why += why.empty() ? buf : std::string("; ") + buf;
    }
    throw std::runtime_error(what + (why.empty() ? "" : " (" + why + ")"));
}

// The CA key choices: each is a key the core signs with (ca_signature_digest)
// and every client the suite runs can verify.
struct CaKeyChoice {
    const char* spec;
    const char* curve;  // nullptr: RSA
    int rsa_bits;
};
constexpr CaKeyChoice kCaKeyChoices[] = {
    {"ec:P-256", "P-256", 0}, {"ec:P-384", "P-384", 0},
    {"rsa:2048", nullptr, 2048}, {"rsa:3072", nullptr, 3072}, {"rsa:4096", nullptr, 4096},
};

const CaKeyChoice& ca_key_choice(const std::string& spec) {
    for (const auto& c : kCaKeyChoices)
        if (spec == c.spec) return c;
    throw std::runtime_error("unknown CA key '" + spec + "' (" + ca_key_choices() + ")");
}

ossl::PKey generate_rsa_key(int bits) {
    ossl::PKey key(EVP_RSA_gen(static_cast<unsigned>(bits)));
    ossl_check(key != nullptr, "generating an RSA-" + std::to_string(bits) + " key");
    return key;
}

ossl::PKey generate_key(const CaKeyChoice& c) {
    if (c.curve == nullptr) return generate_rsa_key(c.rsa_bits);
    ossl::PKey key(EVP_EC_gen(c.curve));
    ossl_check(key != nullptr, std::string("generating an EC ") + c.curve + " key");
    return key;
}

// The digest the signer's key calls for, as the core chooses it for what
// the CA signs at run time (ca_signature_digest): SHA-384 for P-384 (RFC
// 5480 pairs the curve with the hash of its strength), SHA-256 otherwise.
const EVP_MD* digest_for(EVP_PKEY* signing_key) {
    return EVP_PKEY_get_base_id(signing_key) == EVP_PKEY_EC && EVP_PKEY_get_bits(signing_key) > 256
               ? EVP_sha384()
               : EVP_sha256();
}

void set_random_serial(X509* cert) {
    unsigned char bytes[kSerialBytes];
    ossl::Bignum bn;
    // All 128 bits random; DER adds a zero byte when the top bit is set,
    // still well under RFC 5280's 20 octets. Zero is not a valid serial.
    do {
        ossl_check(RAND_bytes(bytes, sizeof bytes) == 1, "drawing a serial number");
        bn.reset(BN_bin2bn(bytes, sizeof bytes, nullptr));
        ossl_check(bn != nullptr, "converting the serial number");
    } while (BN_is_zero(bn.get()));
    ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    ossl_check(serial != nullptr && X509_set_serialNumber(cert, serial.get()) == 1,
               "setting the serial number");
}

void set_subject(X509* cert, const std::string& common_name) {
    X509_NAME* name = X509_get_subject_name(cert);  // owned by cert
    const auto* o = reinterpret_cast<const unsigned char*>("Scepter Demo");
    const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
    ossl_check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, o, -1, -1, 0) == 1 &&
                   X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) == 1,
               "setting the subject of " + common_name);
}

// value in openssl.cnf syntax ("critical,CA:TRUE"); issuer == cert when
// self-signed, which is what lets authorityKeyIdentifier find the SKI.
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ossl::X509Ext ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    ossl_check(ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1,
               std::string("adding ") + OBJ_nid2sn(nid) + " = " + value);
}

struct CertSpec {
    std::string common_name;
    long days;
    bool is_ca;
    const char* key_usage;  // openssl.cnf syntax
};

// issuer/issuer_key null: self-signed with subject_key.
ossl::X509Ptr issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                    EVP_PKEY* issuer_key) {
    ossl::X509Ptr cert(X509_new());
    ossl_check(cert != nullptr && X509_set_version(cert.get(), X509_VERSION_3) == 1,
               "creating a certificate");
    set_random_serial(cert.get());
    set_subject(cert.get(), spec.common_name);
    X509* signer = issuer != nullptr ? issuer : cert.get();
    ossl_check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1 &&
                   X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) != nullptr &&
                   X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.days * 86400) != nullptr &&
                   X509_set_pubkey(cert.get(), subject_key) == 1,
               "filling in " + spec.common_name);
    add_extension(cert.get(), signer, NID_basic_constraints,
                  spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, spec.key_usage);
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (issuer != nullptr) add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    EVP_PKEY* signing_key = issuer_key != nullptr ? issuer_key : subject_key;
    ossl_check(X509_sign(cert.get(), signing_key, digest_for(signing_key)) > 0, "signing " + spec.common_name);
    return cert;
}

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return std::string(data, std::size_t(len));
}

std::string cert_pem(X509* cert) {
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    ossl_check(bio != nullptr && PEM_write_bio_X509(bio.get(), cert) == 1, "encoding a certificate");
    return bio_contents(bio.get());
}

// PKCS#8, unencrypted: the web server has to read it unattended.
void write_key(const fs::path& path, EVP_PKEY* key) {
    ossl::Bio bio(BIO_new(BIO_s_secmem()));
    ossl_check(bio != nullptr && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                                          nullptr, nullptr) == 1,
               "encoding a private key");
    std::string pem = bio_contents(bio.get());
    write_new_file(path.string(), pem, 0600);
    OPENSSL_cleanse(pem.data(), pem.size());
}

// Without --force, init never writes over a file it would write.
void refuse_existing_files(const fs::path& dir, const std::vector<std::string>& names) {
    for (const auto& name : names)
        if (fs::exists(fs::symlink_status(dir / name)))
            throw std::runtime_error((dir / name).string() + " already exists (use --force to replace it)");
}

struct Issued {
    ossl::PKey key;
    ossl::X509Ptr cert;
};

void write_pair(const fs::path& dir, const Issued& pair, const char* cert_file, const char* key_file) {
    write_key(dir / key_file, pair.key.get());
    write_new_file((dir / cert_file).string(), cert_pem(pair.cert.get()), 0644);
}

}  // namespace

std::string ca_key_choices() {
    std::string out;
    for (const auto& c : kCaKeyChoices) out += (out.empty() ? "" : "|") + std::string(c.spec);
    return out;
}

bool is_ca_key_choice(const std::string& spec) {
    for (const auto& c : kCaKeyChoices)
        if (spec == c.spec) return true;
    return false;
}

std::vector<std::string> demo_pki_files() {
    return {kConfigFile,     kCaCertFile,    kCaKeyFile,     kRaSignCertFile,
            kRaSignKeyFile,  kRaEncCertFile, kRaEncKeyFile};
}

std::string random_challenge(int min_bits) {
    static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    constexpr unsigned kSize = sizeof kAlphabet - 1;  // 62
    // Each character carries log2(62) ~ 5.95 bits.
    std::size_t length = std::size_t(std::ceil(min_bits / std::log2(double(kSize))));
    std::string out;
    while (out.size() < length) {
        unsigned char byte = 0;
        ossl_check(RAND_bytes(&byte, 1) == 1, "drawing the challenge");
        // Rejection sampling: 248 = 4 * 62, so the accepted bytes map evenly.
        if (byte < 4 * kSize) out += kAlphabet[byte % kSize];
    }
    return out;
}

namespace {

Issued new_ca(const std::string& cn, const CaKeyChoice& ca_key) {
    Issued ca{generate_key(ca_key), nullptr};
    ca.cert = issue({cn, kCaDays, true, "critical,keyCertSign,cRLSign"}, ca.key.get(), nullptr, nullptr);
    return ca;
}

// The CA's common name, for naming its RA certificates after it.
std::string common_name_of(X509* cert) {
    char cn[256] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return cn[0] ? cn : "Scepter";
}

// An RA certificate's days: kRaDays, or fewer when the CA (imported, or
// renewing its RAs late in life) ends sooner: its RAs end with it.
long ra_days_under(X509* ca) {
    int ca_days = 0, ca_seconds = 0;
    ASN1_TIME_diff(&ca_days, &ca_seconds, nullptr, X509_get0_notAfter(ca));
    return std::min<long>(kRaDays, ca_days);
}

// NDES's two RA certificates, issued by ca, and ca itself, written into dir.
void write_ca_and_ras(const fs::path& dir, const Issued& ca, const std::string& cn) {
    long ra_days = ra_days_under(ca.cert.get());
    // NDES's "Enrollment Agent (Offline request)": signs CertReps.
    Issued ra_sign{generate_rsa_key(kRaRsaBits), nullptr};
    ra_sign.cert = issue({cn + " RA Signing", ra_days, false, "critical,digitalSignature"},
                         ra_sign.key.get(), ca.cert.get(), ca.key.get());
    // NDES's "CEP Encryption": clients encrypt their requests to it.
    Issued ra_enc{generate_rsa_key(kRaRsaBits), nullptr};
    ra_enc.cert = issue({cn + " RA Encryption", ra_days, false, "critical,digitalSignature,keyEncipherment"},
                        ra_enc.key.get(), ca.cert.get(), ca.key.get());
    write_pair(dir, ca, kCaCertFile, kCaKeyFile);
    write_pair(dir, ra_sign, kRaSignCertFile, kRaSignKeyFile);
    write_pair(dir, ra_enc, kRaEncCertFile, kRaEncKeyFile);
}

}  // namespace

DemoPkiResult write_demo_pki(const DemoPkiOptions& options) {
    ERR_clear_error();
    const CaKeyChoice& ca_key = ca_key_choice(options.ca_key);  // before any file is written
    const fs::path dir = fs::absolute(options.dir);
    const bool installing = !options.install_ca_cert.empty();
    ImportedCa imported;
    if (!options.import_p12.empty()) imported = read_ca_p12(options.import_p12, options.p12_password);
    if (installing)
        imported = read_signed_subordinate((dir / kCaKeyFile).string(), options.install_ca_cert, options.install_chain);
    fs::create_directories(dir);
    if (!options.force) {
        std::vector<std::string> written = demo_pki_files();
        if (installing) written.erase(std::find(written.begin(), written.end(), kCaKeyFile));  // step 1 wrote it
        refuse_existing_files(dir, written);
    }
    make_directory((dir / kStateDir).string(), 0750);
    std::vector<std::string> chain_files;
    if (imported.cert) {
        Issued ca{std::move(imported.key), std::move(imported.cert)};
        write_ca_and_ras(dir, ca, common_name_of(ca.cert.get()));
        for (std::size_t i = 0; i < imported.chain.size(); ++i) {
            chain_files.push_back("chain-" + std::to_string(i + 1) + ".pem");
            write_new_file((dir / chain_files.back()).string(), cert_pem(imported.chain[i].get()), 0644);
        }
    } else {
        write_ca_and_ras(dir, new_ca(options.ca_common_name, ca_key), options.ca_common_name);
    }
    // Last, so a failure above never leaves a config naming missing files.
    DemoPkiResult result{(dir / kConfigFile).string(), (dir / kCaCertFile).string(),
                         random_challenge()};
    write_new_file(result.config_path, demo_config_yaml(result.challenge, options.crl_url, chain_files), 0600);
    return result;
}

std::string write_next_ca(const DemoPkiOptions& options) {
    ERR_clear_error();
    const CaKeyChoice& ca_key = ca_key_choice(options.ca_key);
    const fs::path dir = fs::absolute(options.dir) / kNextCaDir;
    fs::create_directories(dir);
    if (!options.force)
        refuse_existing_files(dir, {kCaCertFile, kCaKeyFile, kRaSignCertFile, kRaSignKeyFile, kRaEncCertFile, kRaEncKeyFile});
    write_ca_and_ras(dir, new_ca(options.ca_common_name, ca_key), options.ca_common_name);
    return std::string("next_ca:\n") + "  cert: " + kNextCaDir + "/" + kCaCertFile + "\n" +
           "  ra_certs: [" + kNextCaDir + "/" + kRaSignCertFile + ", " + kNextCaDir + "/" + kRaEncCertFile + "]\n";
}

namespace {

std::string request_pem(X509_REQ* req) {
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    ossl_check(bio != nullptr && PEM_write_bio_X509_REQ(bio.get(), req) == 1, "encoding the request");
    return bio_contents(bio.get());
}

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

namespace {

// path → path.prev, replacing an older .prev.
void keep_previous(const std::string& path) {
    std::error_code ignored;
    fs::rename(path, path + ".prev", ignored);
}

}  // namespace

std::string renew_ra_pair(const KeyPairFiles& ca_files, const KeyPairFiles& ra, const char* key_usage) {
    ERR_clear_error();
    ossl::X509Ptr ca_cert = read_pem_cert(ca_files.cert);
    ossl::PKey ca_key = read_pem_key(ca_files.key);
    ossl::X509Ptr old = read_pem_cert(ra.cert);
    Issued renewed{generate_rsa_key(kRaRsaBits), nullptr};
    renewed.cert = issue({common_name_of(old.get()), ra_days_under(ca_cert.get()), false, key_usage},
                         renewed.key.get(), ca_cert.get(), ca_key.get());
    keep_previous(ra.key);
    keep_previous(ra.cert);
    write_key(ra.key, renewed.key.get());
    write_new_file(ra.cert, cert_pem(renewed.cert.get()), 0644);
    char until[64] = "";
    ossl::Bio text(BIO_new(BIO_s_mem()));
    ASN1_TIME_print(text.get(), X509_get0_notAfter(renewed.cert.get()));
    BIO_read(text.get(), until, sizeof until - 1);
    return ra.cert + ": renewed until " + until + " (the previous pair kept as .prev)";
}

}  // namespace scepter::cli
