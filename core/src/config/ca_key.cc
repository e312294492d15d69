#include "config/ca_key.h"

#include <cctype>
#include <set>

namespace scepter {
namespace {

// RFC 7512's pchar for attribute values: unreserved, pct-encoded and a few
// sub-delimiters; anything else (a space, a control character) is a typo.
bool valid_value(const std::string& v) {
    static const std::string kExtra = "-._~:[]@!$'()*+,=&";
    for (std::size_t i = 0; i < v.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(v[i]);
        if (c == '%') {
            if (i + 2 >= v.size()) return false;
            if (!std::isxdigit(static_cast<unsigned char>(v[i + 1])) || !std::isxdigit(static_cast<unsigned char>(v[i + 2])))
                return false;
            i += 2;
        } else if (!std::isalnum(c) && kExtra.find(char(c)) == std::string::npos) {
            return false;
        }
    }
    return true;
}

std::string attribute_problem(const std::string& attr, std::set<std::string>& seen) {
    static const std::set<std::string> kNames = {
        "token", "manufacturer", "serial", "model", "library-manufacturer", "library-description",
        "library-version", "slot-description", "slot-manufacturer", "slot-id", "object", "id", "type"};
    std::size_t eq = attr.find('=');
    std::string name = attr.substr(0, eq);
    if (name == "pin-value" || name == "pin-source")
        return "the URI must not carry the PIN: put it into the file ca.key_pin_file names";
    if (eq == std::string::npos || !kNames.count(name))
        return "'" + name + "' is not an RFC 7512 path attribute (token=, object=, id=, type=, ...)";  // no value: it could be a PIN
    if (!seen.insert(name).second) return "the attribute " + name + " appears twice";
    std::string value = attr.substr(eq + 1);
    if (!valid_value(value)) return "the value of " + name + " holds a character RFC 7512 does not allow (use %XX)";
    if (name == "type" && value != "private") return "type must be private (the key is a private key)";
    return "";
}

}  // namespace

std::string pkcs11_uri_problem(const std::string& uri) {
    if (uri.rfind("pkcs11:", 0) != 0) return "a token key's URI starts with pkcs11:";
    if (uri.find('?') != std::string::npos)
        return "the URI must have no query (?...): the module is ca.pkcs11_module, the PIN ca.key_pin_file";
    std::string path = uri.substr(7);
    std::set<std::string> seen;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(';', start);
        if (end == std::string::npos) end = path.size();
        std::string attr = path.substr(start, end - start);
        if (attr.empty()) return "the URI has an empty attribute (two ';' in a row, or one at the end)";
        std::string problem = attribute_problem(attr, seen);
        if (!problem.empty()) return problem;
        start = end + 1;
    }
    if (!seen.count("object") && !seen.count("id")) return "the URI names no key: give object= (its label) or id=";
    return "";
}

// ca.key: a PEM file, or a pkcs11: URI with the module and the PIN's file
// beside it (the PIN never in the YAML: a URI with pin-value is refused).
void read_ca_key(const YamlSection& ca, Config& cfg) {
    std::string key = ca.string("key");
    if (key.rfind("pkcs11:", 0) != 0) {
        if (ca.has("pkcs11_module") || ca.has("key_pin_file"))
            ca.fail_at(ca.has("pkcs11_module") ? "pkcs11_module" : "key_pin_file",
                       "goes with a ca.key that is a pkcs11: URI");
        cfg.ca = KeyPairFiles{ca.readable_file("cert"), ca.readable_file("key")};
        return;
    }
    std::string problem = pkcs11_uri_problem(key);
    if (!problem.empty()) ca.fail_at("key", problem);
    if (!ca.has("pkcs11_module")) ca.fail_at("key", "a pkcs11: key needs ca.pkcs11_module (e.g. /usr/lib/x86_64-linux-gnu/p11-kit-proxy.so)");
    if (!ca.has("key_pin_file")) ca.fail_at("key", "a pkcs11: key needs ca.key_pin_file (the token's user PIN, first line)");
    cfg.ca = KeyPairFiles{ca.readable_file("cert"), key};
    cfg.ca_token = TokenKeySettings{key, ca.readable_file("pkcs11_module"), ca.readable_file("key_pin_file")};
}

}  // namespace scepter
