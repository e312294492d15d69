#include "config/config_intune.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace scepter {
namespace {

void check_https_url(const YamlSection& s, const char* key, const std::string& url) {
    if (url.rfind("https://", 0) != 0 || url.size() <= 8) s.fail_at(key, "must be an https:// URL");
    if (url.find_first_of(" \t\r\n?#") != std::string::npos)
        s.fail_at(key, "must be a plain URL (no white space, query or fragment)");
}

// Letters, digits and the few signs tenant names, GUIDs and domains use:
// both go into a URL path.
void check_name(const YamlSection& s, const char* key, const std::string& v) {
    if (v.empty() || v.size() > 256) s.fail_at(key, "must be 1 to 256 characters");
    for (unsigned char c : v)
        if (!std::isalnum(c) && c != '-' && c != '.' && c != '_')
            s.fail_at(key, "may hold only letters, digits, '-', '.' and '_'");
}

std::string without_trailing_slash(std::string url) {
    while (url.size() > 8 && url.back() == '/') url.pop_back();
    return url;
}

std::string read_secret(const YamlSection& s, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) s.fail_at("client_secret_file", "cannot read '" + path + "': " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.empty()) s.fail_at("client_secret_file", "'" + path + "' is empty");
    if (secret.size() > 4096 || secret.find_first_of("\r\n") != std::string::npos)
        s.fail_at("client_secret_file", "'" + path + "' must hold the secret alone, on one line");
    return secret;
}

}  // namespace

IntuneSettings read_intune(const YamlSection& s) {
    if (s.has("client_secret"))
        s.fail_at("client_secret", "a secret is never written into the configuration: put it in a file that only "
                                   "root can read and name it with client_secret_file");
    s.allow_only({"tenant", "client_id", "client_secret_file", "client_certificate", "client_key", "authority",
                  "graph", "resource", "api_version", "caller_info", "ca_file", "timeout_ms", "retries", "revocation_poll_seconds",
                  "revocation_max_requests", "revocation_api_version"});
    IntuneSettings t;
    t.tenant = s.string("tenant");
    check_name(s, "tenant", t.tenant);
    t.client_id = s.string("client_id");
    check_name(s, "client_id", t.client_id);
    const bool secret = s.has("client_secret_file");
    const bool cert = s.has("client_certificate") || s.has("client_key");
    if (secret == cert)
        s.fail("give either client_secret_file or client_certificate and client_key (the signed-assertion flow)");
    if (secret) {
        t.client_secret_file = s.readable_file("client_secret_file");
        t.client_secret = read_secret(s, t.client_secret_file);
    } else {
        if (!s.has("client_certificate")) s.fail("client_key needs client_certificate");
        if (!s.has("client_key")) s.fail("client_certificate needs client_key");
        t.client_certificate = KeyPairFiles{s.readable_file("client_certificate"), s.readable_file("client_key")};
    }
    t.authority = without_trailing_slash(s.string_or("authority", t.authority));
    t.graph = without_trailing_slash(s.string_or("graph", t.graph));
    t.resource = s.string_or("resource", t.resource);  // as given: its trailing slash is part of the scope
    check_https_url(s, "authority", t.authority);
    check_https_url(s, "graph", t.graph);
    check_https_url(s, "resource", t.resource);
    t.api_version = s.string_or("api_version", t.api_version);
    check_name(s, "api_version", t.api_version);
    t.caller_info = s.string_or("caller_info", t.caller_info);
    if (t.caller_info.empty() || t.caller_info.find_first_of("\r\n") != std::string::npos)
        s.fail_at("caller_info", "must be one non-empty line");
    if (s.has("ca_file")) t.ca_file = s.readable_file("ca_file");
    t.timeout_ms = int(s.integer_or("timeout_ms", t.timeout_ms, 100, 120000));
    t.retries = int(s.integer_or("retries", t.retries, 0, 10));
    t.revocation_poll_seconds = int(s.integer_or("revocation_poll_seconds", t.revocation_poll_seconds, 0, 86400));
    t.revocation_max_requests = int(s.integer_or("revocation_max_requests", t.revocation_max_requests, 1, 500));
    t.revocation_api_version = s.string_or("revocation_api_version", t.revocation_api_version);
    check_name(s, "revocation_api_version", t.revocation_api_version);
    return t;
}

}  // namespace scepter
