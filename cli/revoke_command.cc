// scepter certs revoke: mark a certificate revoked in the store, then sign
// and store a new CRL at once, so that GetCRL and the CRL distribution point
// stop trusting it now rather than at the next scheduled refresh.
#include "admin_common.h"
#include "ca/ca_material.h"
#include "ca/crl.h"
#include "lifecycle.h"
#include "scepter/text.h"

#include <ctime>
#include <iostream>
#include <optional>

namespace scepter::cli {
namespace {

std::string describe_revocation(const IssuedCert& cert) {
    return "revoked since " + iso8601_utc(cert.revoked_at) + " (" +
           revocation_reason_name(cert.revocation_reason) + ")";
}

int report_failure(const std::string& why) {
    std::cerr << "scepter: " << why << "\n";
    return kExitFailure;
}

// The CRL comes after the revocation: the store is the truth, the CRL a
// signed copy of it. When signing fails the revocation stands and the CRL
// catches up at its next publication.
int publish_after_revocation(const Config& cfg, const CaMaterial& ca, Store& store,
                             const std::string& serial, int reason) {
    std::string revoked = serial + ": revoked (" + revocation_reason_name(reason) + ")";
    try {
        CrlRecord crl = publish_crl(cfg, ca, store);
        std::cout << revoked << "; CRL " << crl.number << " published\n";
        return kExitOk;
    } catch (const std::exception& e) {
        std::cout << revoked << "\n";
        return report_failure("the revocation is recorded, but publishing a new CRL failed: " + std::string(e.what()) +
                      "\nThe CRL served until its next refresh does not list it.");
    }
}

int revoke_certificate(const std::string& config_file, const std::string& key, int reason) {
    Config cfg = load_config(config_file);
    auto store = open_existing_store(cfg, config_file);
    std::optional<IssuedCert> cert = store ? store->find_cert(key) : std::nullopt;
    if (!cert) return report_failure("no certificate with serial or thumbprint '" + key + "'");
    if (cert->status == "revoked") return report_failure(cert->serial_hex + " is already " + describe_revocation(*cert));
    // Before changing anything: a CA key this user cannot read must not leave
    // a revocation behind that no CRL reports.
    CaMaterial ca = load_ca_material(cfg);
    if (!store->revoke(cert->serial_hex, reason, std::int64_t(std::time(nullptr)))) {
        return report_failure(cert->serial_hex + " was revoked meanwhile by someone else");
    }
    return publish_after_revocation(cfg, ca, *store, cert->serial_hex, reason);
}

}  // namespace

int run_certs_revoke(const ParsedArgs& parsed) {
    if (parsed.has("--limit")) throw UsageError("--limit belongs to certs list", "certs");
    if (parsed.positionals.size() != 2) throw UsageError("certs revoke takes one SERIAL|THUMBPRINT", "certs");
    int reason = 0;  // unspecified
    if (parsed.has("--reason")) {
        const std::string& name = parsed.options.at("--reason");
        std::optional<int> code = revocation_reason_code(name);
        if (!code) {
            throw UsageError("--reason is one of " + revocation_reason_choices() + ", not '" + name + "'", "certs");
        }
        reason = *code;
    }
    return revoke_certificate(parsed.options.at("--config"), parsed.positionals[1], reason);
}

}  // namespace scepter::cli
