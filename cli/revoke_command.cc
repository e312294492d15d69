// scepter certs revoke: mark a certificate revoked in the store, then sign
// and store a new CRL at once, so that GetCRL and the CRL distribution point
// stop trusting it now rather than at the next scheduled refresh. With
// --subject, --san or --requester every matching certificate goes at once
// (a retired device, a user who left), under one CRL.
#include "admin_common.h"
#include "lifecycle.h"
#include "scepter/text.h"

#include <iostream>
#include <optional>
#include <tuple>

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

int revoke_certificate(const std::string& config_file, const std::string& key, int reason) {
    Revocation r = open_admin(config_file)->revoke_cert(key, reason);
    switch (r.result) {
        case Revocation::Result::unknown:
            return report_failure("no certificate with serial or thumbprint '" + key + "'");
        case Revocation::Result::already_revoked:
            return report_failure(r.cert.serial_hex + " is already " + describe_revocation(r.cert));
        case Revocation::Result::revoked_meanwhile:
            return report_failure(r.cert.serial_hex + " was revoked meanwhile by someone else");
        case Revocation::Result::revoked:
            break;
    }
    std::string revoked = r.cert.serial_hex + ": revoked (" + revocation_reason_name(reason) + ")";
    if (!r.crl) {
        std::cout << revoked << "\n";
        return report_failure("the revocation is recorded, but publishing a new CRL failed: " + r.crl_error +
                              "\nThe CRL served until its next refresh does not list it.");
    }
    std::cout << revoked << "; CRL " << r.crl->number << " published\n";
    return kExitOk;
}

// Every match, one line each, then the one CRL published for all of them.
int revoke_matching(const std::string& config_file, const CertMatch& match, const std::string& what, int reason) {
    BulkRevocation r = open_admin(config_file)->revoke_matching(match, reason);
    for (const auto& c : r.revoked)
        std::cout << c.serial_hex << ": revoked (" << revocation_reason_name(reason) << ") " << c.subject << "\n";
    for (const auto& c : r.revoked_meanwhile)
        std::cerr << "scepter: " << c.serial_hex << " was revoked meanwhile by someone else\n";
    if (r.revoked.empty()) {
        if (!r.revoked_meanwhile.empty()) return kExitFailure;
        return report_failure("no unrevoked, unexpired certificate with " + what);
    }
    if (!r.crl) {
        return report_failure("the revocations are recorded, but publishing a new CRL failed: " + r.crl_error +
                              "\nThe CRL served until its next refresh does not list them.");
    }
    std::cout << r.revoked.size() << " revoked; CRL " << r.crl->number << " published\n";
    return kExitOk;
}

}  // namespace

int run_certs_revoke(const ParsedArgs& parsed) {
    if (parsed.has("--limit")) throw UsageError("--limit belongs to certs list", "certs");
    std::optional<CertMatch> match;
    std::string what;
    for (const auto& [option, field, noun] :
         {std::tuple{"--subject", CertMatch::Field::subject_cn, "subject CN"},
          std::tuple{"--san", CertMatch::Field::san, "SAN"},
          std::tuple{"--requester", CertMatch::Field::requester, "requester"}}) {
        if (!parsed.has(option)) continue;
        if (match) throw UsageError("certs revoke takes one of --subject, --san and --requester", "certs");
        const std::string& value = parsed.options.at(option);
        if (value.empty()) throw UsageError(std::string(option) + " needs a value", "certs");
        match = CertMatch{field, value};
        what = std::string(noun) + " '" + value + "'";
    }
    if (match && parsed.positionals.size() != 1)
        throw UsageError("certs revoke takes a SERIAL|THUMBPRINT or a match, not both", "certs");
    if (!match && parsed.positionals.size() != 2)
        throw UsageError("certs revoke takes one SERIAL|THUMBPRINT, or --subject, --san or --requester", "certs");
    int reason = 0;  // unspecified
    if (parsed.has("--reason")) {
        const std::string& name = parsed.options.at("--reason");
        std::optional<int> code = revocation_reason_code(name);
        if (!code) {
            throw UsageError("--reason is one of " + revocation_reason_choices() + ", not '" + name + "'", "certs");
        }
        reason = *code;
    }
    if (match) return revoke_matching(parsed.options.at("--config"), *match, what, reason);
    return revoke_certificate(parsed.options.at("--config"), parsed.positionals[1], reason);
}

}  // namespace scepter::cli
