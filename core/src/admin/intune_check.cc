// The stages of an Intune conversation, one at a time, with what each got
// (never a token): an admin sees which one fails without enrolling a
// device. The validateRequest carries a throw-away CSR with no challenge,
// so Intune refuses it; any answer of Intune's own proves the whole path.
#include "admin/intune_check.h"

#include "integrations/intune/intune_session.h"
#include "scepter/der.h"
#include "scepter/ossl.h"

#include <openssl/rsa.h>
#include <openssl/x509.h>

namespace scepter {
namespace {

using Stage = Admin::IntuneStage;

std::vector<unsigned char> throwaway_csr() {
    ossl::PKey key(EVP_RSA_gen(2048));
    ossl::X509Req req(X509_REQ_new());
    if (!key || !req) throw std::runtime_error("cannot make a throw-away CSR");
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("scepter intune check"),
                               -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key.get());
    if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) throw std::runtime_error("cannot sign the throw-away CSR");
    return to_der(req.get(), i2d_X509_REQ);
}

// Runs one stage; false when it failed (and was reported so).
template <typename F>
bool stage(std::vector<Stage>& out, const std::function<void(const Stage&)>& report, const std::string& name, F&& run) {
    Stage s{name, false, ""};
    try {
        s.detail = run();
        s.ok = true;
    } catch (const TargetError& e) {
        s.detail = e.what();
    } catch (const std::exception& e) {
        s.detail = e.what();
    }
    out.push_back(s);
    if (report) report(s);
    return s.ok;
}

}  // namespace

std::vector<Stage> run_intune_check(const Profile& profile, const CaMaterial& ca,
                                    const std::function<void(const Stage&)>& report) {
    const IntuneSettings& s = *profile.intune;
    auto pair = ca.intune_clients.find(profile.name);
    X509* cert = pair == ca.intune_clients.end() ? nullptr : pair->second.cert.get();
    EVP_PKEY* key = pair == ca.intune_clients.end() ? nullptr : pair->second.key.get();
    auto session = std::make_shared<IntuneSession>(s, cert, key);
    std::vector<Stage> out;
    const std::string how = cert ? "client assertion" : "client secret";
    if (!stage(out, report, "token", [&] {
            session->graph_token();
            session->intune_token();
            return "Entra ID gave tokens for " + s.graph + "/.default and " + s.resource + "/.default (" + how +
                   ", " + intune_token_url(s) + ")";
        }))
        return out;
    if (!stage(out, report, "discovery", [&] {
            std::string found = std::string(kScepValidationService) + " = " + session->endpoint(kScepValidationService);
            if (s.revocation_poll_seconds > 0)  // the revocation sync needs the other service too
                found += ", " + std::string(kPkiConnectorService) + " = " + session->endpoint(kPkiConnectorService);
            return found;
        }))
        return out;
    stage(out, report, "validateRequest", [&] {
        ExternalValidationConfig c;
        c.timeout_ms = s.timeout_ms;
        c.retries = s.retries;
        c.caller_info = s.caller_info;
        c.ca_file = s.ca_file;
        c.target = session;
        ExternalValidator v(c);
        ValidationOutcome o = v.validate("scepter-intune-check-" + new_request_id(), throwaway_csr());
        if (o.log_id || o.code == "ServiceUnavailable" || o.code == "BadResponse")
            throw std::runtime_error(o.code + ": " + o.description);
        return "Intune answered " + o.code + (o.description.empty() ? "" : ": " + o.description);
    });
    return out;
}

}  // namespace scepter
