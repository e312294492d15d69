#include "config/ra_keys.h"

#include "config/ca_key.h"

namespace scepter {
namespace {

// name: the pair's key in the file (ra, ra.signing, ra.encryption), for the
// token key's errors. A URI is checked here; the token is not opened (that is
// the worker's, or a configuration check's).
KeyPairFiles read_pair(const YamlSection& s, const Config& cfg, const std::string& name,
                       std::optional<TokenKeySettings>& token) {
    s.allow_only({"cert", "key"});
    std::string key = s.string("key");
    if (key.rfind("pkcs11:", 0) != 0) return KeyPairFiles{s.readable_file("cert"), s.readable_file("key")};
    std::string problem = pkcs11_uri_problem(key);
    if (!problem.empty()) s.fail_at("key", problem);
    // One module and one PIN per node: the CA key's. An RA key alone in a
    // token would need settings of its own, for a setup nobody has asked for.
    if (!cfg.ca_token)
        s.fail_at("key", "a pkcs11: RA key is reached with the CA key's token settings: ca.key must be a pkcs11: "
                         "URI too, with ca.pkcs11_module and ca.key_pin_file");
    token = TokenKeySettings{key, cfg.ca_token->module, cfg.ca_token->pin_file, name + ".key"};
    return KeyPairFiles{s.readable_file("cert"), key};
}

}  // namespace

void read_ra(const YamlSection& ra, Config& cfg) {
    if (ra.has("cert") || ra.has("key")) {
        cfg.ra_signing = read_pair(ra, cfg, "ra", cfg.ra_signing_token);
        return;
    }
    ra.allow_only({"signing", "encryption"});
    cfg.ra_signing = read_pair(ra.section("signing"), cfg, "ra.signing", cfg.ra_signing_token);
    if (ra.has("encryption"))
        cfg.ra_encryption = read_pair(ra.section("encryption"), cfg, "ra.encryption", cfg.ra_encryption_token);
}

}  // namespace scepter
