// scepter init DIR [--force] [--cn NAME] [--ca-key TYPE] [--crl-url URL] [--next-ca]
#include "cli.h"
#include "ca_import.h"
#include "demo_pki.h"

#include <openssl/crypto.h>

#include <filesystem>
#include <iostream>

namespace scepter::cli {
namespace {

constexpr const char* kInitHelp =
    "Usage: scepter init DIR [--force] [--cn NAME] [--ca-key TYPE] [--crl-url URL]\n"
    "                        [--next-ca]\n"
    "       scepter init DIR --import-ca CA.p12 [--password-file FILE] [--force]\n"
    "                        [--crl-url URL]\n"
    "       scepter init DIR --subordinate [--cn NAME] [--ca-key TYPE] [--force]\n"
    "       scepter init DIR --install-ca-cert SIGNED.pem --chain ROOT.pem [--force]\n"
    "                        [--crl-url URL]\n"
    "       scepter init DIR --ca-key-uri URI --pkcs11-module SO --pin-file FILE\n"
    "                        [--cn NAME] [--crl-url URL] [--force]\n"
    "\n"
    "Writes a demo PKI into DIR (created if missing): a self-signed CA (ca.pem,\n"
    "ca.key; RSA-2048 unless --ca-key says otherwise), an RA signing pair\n"
    "(ra-sign.pem/.key) and an RA encryption pair (ra-enc.pem/.key), both\n"
    "RSA-2048 whatever the CA is; keys are 0600. Also state/ for the store and\n"
    "a commented scepter.yaml with a random challenge and the profiles\n"
    "`default` (AES, SHA-2) and `legacy` (adds DES and SHA-1).\n"
    "\n"
    "Options:\n"
    "  --force      replace the files of an earlier init (the store is kept)\n"
    "  --cn NAME    common name of the CA (default: Scepter Demo CA)\n"
    "  --ca-key TYPE  the CA's key: ec:P-256, ec:P-384, rsa:2048 (default),\n"
    "               rsa:3072 or rsa:4096. The CA signs its certificate, the RA\n"
    "               certificates, issued certificates and CRLs with it: ECDSA\n"
    "               with SHA-256 (P-256) or SHA-384 (P-384), RSA with SHA-256.\n"
    "               The RA pairs stay RSA, since clients encrypt to the RA and\n"
    "               the RA signs the CertReps. With --next-ca: the new CA's key\n"
    "  --crl-url URL  the http:// URL the CRL is served at (crl.path on this\n"
    "               server), written as crl.distribution_url: issued\n"
    "               certificates then name it as their CRL Distribution Point\n"
    "  --import-ca CA.p12  use an existing CA (its key, certificate and chain\n"
    "               from a PKCS#12 file, as AD CS or `openssl pkcs12 -export`\n"
    "               write it) instead of a new one: checked to be a CA whose key\n"
    "               matches, valid now; its RA pairs are issued by it and its\n"
    "               chain goes to chain-N.pem (GetCACert then serves it)\n"
    "  --password-file FILE  the PKCS#12 password is FILE's first line; without\n"
    "               it the password is asked on the terminal (or read from\n"
    "               stdin). Never a command-line argument.\n"
    "  --subordinate  a CA under the company's root, step 1: write DIR/ca.key and\n"
    "               DIR/ca.csr (asking for CA:TRUE, pathlen 0, keyCertSign and\n"
    "               cRLSign) for the root to sign: AD CS's \"Subordinate\n"
    "               Certification Authority\" template, or `openssl ca`\n"
    "  --install-ca-cert SIGNED.pem --chain ROOT.pem  step 2: the signed\n"
    "               certificate must match DIR/ca.key, be a CA and chain to a\n"
    "               self-signed certificate in ROOT.pem (which may also hold\n"
    "               intermediates); then the RA pairs, the chain and\n"
    "               scepter.yaml are written as for a demo PKI\n"
    "  --next-ca    CA rollover: write a new CA and its RA pairs into DIR/next/\n"
    "               and print the next_ca: lines that make GetNextCACert\n"
    "               announce them (add them to DIR/scepter.yaml, then reload)\n"
    "  --ca-key-uri URI --pkcs11-module SO --pin-file FILE  the CA key is an\n"
    "               existing key pair in a PKCS#11 token (e.g. made with\n"
    "               pkcs11-tool --keypairgen): URI is its RFC 7512 pkcs11: URI\n"
    "               (pkcs11:token=T;object=LABEL;type=private), SO the module,\n"
    "               FILE holds the user PIN on its first line. The CA and RA\n"
    "               certificates are signed inside the token; no ca.key is\n"
    "               written and scepter.yaml names the URI, SO and FILE\n"
    "\n"
    "Prints, one per line, for scripts:\n"
    "  CONFIG=/abs/DIR/scepter.yaml\n"
    "  CA_CERT=/abs/DIR/ca.pem\n"
    "  CHALLENGE=<the static challenge>\n";

// --ca-key-uri, --pkcs11-module and --pin-file: all three, and without the
// options that bring or make a CA key of their own.
void read_token_options(ParsedArgs& parsed, DemoPkiOptions& options) {
    int given = parsed.has("--ca-key-uri") + parsed.has("--pkcs11-module") + parsed.has("--pin-file");
    if (given == 0) return;
    if (given != 3) throw UsageError("--ca-key-uri, --pkcs11-module and --pin-file go together", "init");
    for (const char* other : {"--ca-key", "--import-ca", "--subordinate", "--install-ca-cert", "--next-ca"})
        if (parsed.has(other)) throw UsageError(std::string("--ca-key-uri does not go with ") + other, "init");
    namespace fs = std::filesystem;
    options.ca_token = TokenKeySettings{parsed.options["--ca-key-uri"],
                                        fs::absolute(parsed.options["--pkcs11-module"]).string(),
                                        fs::absolute(parsed.options["--pin-file"]).string()};
}

}  // namespace

int run_init(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args,
                                   {"--cn", "--crl-url", "--ca-key", "--import-ca", "--password-file",
                                    "--install-ca-cert", "--chain", "--ca-key-uri", "--pkcs11-module", "--pin-file"},
                                   {"--force", "--next-ca", "--subordinate"}, "init");
    if (parsed.help) {
        std::cout << kInitHelp;
        return kExitOk;
    }
    if (parsed.positionals.size() != 1) throw UsageError("init takes exactly one DIR", "init");
    DemoPkiOptions options;
    options.dir = parsed.positionals[0];
    options.force = parsed.has("--force");
    if (parsed.has("--cn")) options.ca_common_name = parsed.options["--cn"];
    if (options.ca_common_name.empty()) throw UsageError("--cn must not be empty", "init");
    if (parsed.has("--ca-key")) {
        options.ca_key = parsed.options["--ca-key"];
        if (!is_ca_key_choice(options.ca_key))
            throw UsageError("--ca-key must be one of " + ca_key_choices() + " (got '" + options.ca_key + "')", "init");
    }
    if (parsed.has("--crl-url")) {
        options.crl_url = parsed.options["--crl-url"];
        // The rules crl.distribution_url is loaded with, said before any file is written.
        if (options.crl_url.rfind("http://", 0) != 0 || options.crl_url.find_first_of(", \t\n") != std::string::npos)
            throw UsageError("--crl-url must be a plain http:// URL without commas or spaces", "init");
    }

    if (parsed.has("--subordinate")) {
        for (const char* other : {"--import-ca", "--install-ca-cert", "--next-ca", "--crl-url"})
            if (parsed.has(other)) throw UsageError(std::string("--subordinate does not go with ") + other, "init");
        std::cout << "CA_REQUEST=" << write_subordinate_request(options) << "\n";
        return kExitOk;
    }
    if (parsed.has("--install-ca-cert") != parsed.has("--chain"))
        throw UsageError("--install-ca-cert and --chain go together", "init");
    if (parsed.has("--install-ca-cert")) {
        for (const char* other : {"--import-ca", "--next-ca", "--ca-key", "--cn"})
            if (parsed.has(other)) throw UsageError(std::string("--install-ca-cert does not go with ") + other, "init");
        options.install_ca_cert = parsed.options["--install-ca-cert"];
        options.install_chain = parsed.options["--chain"];
    }
    if (parsed.has("--import-ca")) {
        if (parsed.has("--ca-key") || parsed.has("--cn") || parsed.has("--next-ca"))
            throw UsageError("--import-ca brings its own key and name: no --ca-key, --cn or --next-ca with it", "init");
        options.import_p12 = parsed.options["--import-ca"];
        options.p12_password = read_p12_password(parsed.options["--password-file"]);
    } else if (parsed.has("--password-file")) {
        throw UsageError("--password-file goes with --import-ca", "init");
    }

    read_token_options(parsed, options);
    if (parsed.has("--next-ca")) {
        if (!parsed.has("--cn")) options.ca_common_name = "Scepter Demo CA 2";
        std::cout << "# add to " << options.dir << "/scepter.yaml, then reload:\n" << write_next_ca(options);
        return kExitOk;
    }
    DemoPkiResult result;
    try {
        result = write_demo_pki(options);
    } catch (...) {
        OPENSSL_cleanse(options.p12_password.data(), options.p12_password.size());
        throw;
    }
    OPENSSL_cleanse(options.p12_password.data(), options.p12_password.size());
    std::cout << "CONFIG=" << result.config_path << "\n"
              << "CA_CERT=" << result.ca_cert_path << "\n"
              << "CHALLENGE=" << result.challenge << "\n";
    return kExitOk;
}

}  // namespace scepter::cli
