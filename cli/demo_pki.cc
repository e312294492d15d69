#include "demo_pki.h"

#include "ca_import.h"
#include "x509_build.h"

#include "scepter/admin.h"
#include "scepter/files.h"
#include "scepter/ossl.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace scepter::cli {

namespace fs = std::filesystem;

std::string ca_key_choices() {
    std::string out;
    for (const auto& c : all_ca_key_choices()) out += (out.empty() ? "" : "|") + std::string(c.spec);
    return out;
}

bool is_ca_key_choice(const std::string& spec) {
    for (const auto& c : all_ca_key_choices())
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

// The CA certificate for an existing key in a token, signed inside it.
Issued token_ca(const std::string& cn, const TokenKeySettings& token) {
    Issued ca{load_token_private_key(token), nullptr};
    ca.cert = issue({cn, kCaDays, true, "critical,keyCertSign,cRLSign"}, ca.key.get(), nullptr, nullptr);
    return ca;
}

// NDES's two RA certificates, issued by ca, and ca itself, written into dir
// (its key too, unless it stays in a token).
void write_ca_and_ras(const fs::path& dir, const Issued& ca, const std::string& cn, bool ca_key_file = true) {
    long ra_days = ra_days_under(ca.cert.get());
    // NDES's "Enrollment Agent (Offline request)": signs CertReps.
    Issued ra_sign{generate_rsa_key(kRaRsaBits), nullptr};
    const X509_NAME* ca_name = X509_get_subject_name(ca.cert.get());
    ra_sign.cert = issue({cn + " RA Signing", ra_days, false, "critical,digitalSignature", ca_name},
                         ra_sign.key.get(), ca.cert.get(), ca.key.get());
    // NDES's "CEP Encryption": clients encrypt their requests to it.
    Issued ra_enc{generate_rsa_key(kRaRsaBits), nullptr};
    ra_enc.cert = issue({cn + " RA Encryption", ra_days, false, "critical,digitalSignature,keyEncipherment", ca_name},
                        ra_enc.key.get(), ca.cert.get(), ca.key.get());
    if (ca_key_file)
        write_pair(dir, ca, kCaCertFile, kCaKeyFile);
    else
        write_new_file((dir / kCaCertFile).string(), cert_pem(ca.cert.get()), 0644);
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
    } else if (options.ca_token) {
        write_ca_and_ras(dir, token_ca(options.ca_common_name, *options.ca_token), options.ca_common_name, false);
    } else {
        write_ca_and_ras(dir, new_ca(options.ca_common_name, ca_key), options.ca_common_name);
    }
    // Last, so a failure above never leaves a config naming missing files.
    DemoPkiResult result{(dir / kConfigFile).string(), (dir / kCaCertFile).string(),
                         random_challenge()};
    write_new_file(result.config_path, demo_config_yaml(result.challenge, options.crl_url, chain_files,
                                                        options.ca_token ? &*options.ca_token : nullptr), 0600);
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

}  // namespace scepter::cli
