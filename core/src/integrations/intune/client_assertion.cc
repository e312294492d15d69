#include "integrations/intune/client_assertion.h"

#include "integrations/http_client.h"
#include "scepter/ossl.h"
#include "scepter/text.h"

#include <stdexcept>
#include <vector>

namespace scepter {
namespace {

std::string sha1_of_der(X509* cert) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha1(), buf, &len) != 1) throw std::runtime_error("X509_digest failed");
    return std::string(reinterpret_cast<char*>(buf), len);
}

std::string sign_rs256(EVP_PKEY* key, const std::string& input) {
    ossl::MdCtx ctx(EVP_MD_CTX_new());
    std::size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
        throw std::runtime_error("the client assertion could not be signed");
    std::vector<unsigned char> sig(len);
    if (EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1)
        throw std::runtime_error("the client assertion could not be signed");
    return std::string(reinterpret_cast<char*>(sig.data()), len);
}

}  // namespace

std::string base64url(const std::string& bytes) {
    std::string out = base64_encode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
}

std::string client_assertion(X509* cert, EVP_PKEY* key, const std::string& client_id, const std::string& audience,
                             std::int64_t now, int lifetime_seconds) {
    std::string header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":" + json_quote(base64url(sha1_of_der(cert))) + "}";
    std::string claims = "{\"aud\":" + json_quote(audience) + ",\"iss\":" + json_quote(client_id) +
                         ",\"sub\":" + json_quote(client_id) + ",\"jti\":" + json_quote(new_request_id()) +
                         ",\"nbf\":" + std::to_string(now) + ",\"iat\":" + std::to_string(now) +
                         ",\"exp\":" + std::to_string(now + lifetime_seconds) + "}";
    std::string signing_input = base64url(header) + "." + base64url(claims);
    return signing_input + "." + base64url(sign_rs256(key, signing_input));
}

}  // namespace scepter
