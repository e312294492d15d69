// The Lua marshalling, both ways: a PolicyRequest built from the input goes
// into verify_request of the shipped policies and of a small one that reads
// every field and returns a decision shaped by the request (so the reading
// of decisions, SANs, claims and the limits run on fuzzed values too).
//
// Input: lines "field=value"; repeatable fields add to a list or map:
//   transaction_id message_type profile subject key_type key_bits client_ip
//   user_agent client_os signer_cert_pem  key_usage eku
//   subject.NAME san.TYPE claim.NAME template.NAME
#include "fuzz_support.h"

#include "policy/policy.h"
#include "scepter/config.h"

#include <fstream>
#include <memory>
#include <vector>

namespace {

using namespace scepter;

// Reads each field; `claims.shape` picks what it returns.
constexpr const char* kEchoPolicy = R"lua(
local function touch(t) local n = 0 for k, v in pairs(t) do n = n + #tostring(k) + #tostring(v) end return n end

function verify_request(req)
  touch(req); touch(req.subject_fields); touch(req.claims); touch(req.templates)
  for _, s in ipairs(req.sans) do touch(s) end
  local shape = req.claims.shape
  if shape == "true" then return true end
  if shape == "false" then return false, req.client_os end
  if shape == "nil" then return nil end
  if shape == "number" then return req.key_bits end
  if shape == "allow" then return scep.allow(req.templates.signature) end
  if shape == "pending" then return scep.pending(req.profile) end
  if shape == "deny" then return scep.deny(req.user_agent) end
  if shape == "oid" then return scep.allow(scep.oid(req.subject)) end
  if shape == "big" then return false, string.rep(req.subject, req.key_bits) end
  if shape == "loop" then while true do end end
  local sans = {}
  for i, s in ipairs(req.sans) do
    if i % 2 == 0 then sans[#sans + 1] = s.type .. ":" .. s.value
    else sans[#sans + 1] = {type = s.type, value = s.value} end
  end
  return {verdict = req.claims.verdict, template = req.claims.template, reason = req.claims.reason,
          sans = req.claims.sans == "none" and nil or sans}
end

function generate_challenge(ctx)
  if ctx.refuse then return nil, ctx.refuse end
  if ctx.shape == "true" then return true end
  if ctx.shape == "number" then return 1 end
  return ctx
end

function notify(result) touch(result) end
)lua";

std::vector<std::unique_ptr<PolicyEngine>> compile_engines() {
    std::string echo = fuzz::private_copy_of_demo_pki() + "/echo.lua";
    std::ofstream(echo) << kEchoPolicy;
    std::vector<std::unique_ptr<PolicyEngine>> engines;
    PolicyLimits limits;
    limits.max_instructions = 20'000;  // the "loop" shape ends here quickly
    limits.max_memory_bytes = 1 << 20;
    engines.push_back(PolicyEngine::compile(echo, limits));
    for (const char* shipped : {"ndes.lua", "strict.lua"})
        engines.push_back(PolicyEngine::compile(std::string(SCEPTER_SOURCE_DIR) + "/policies/" + shipped, limits));
    return engines;
}

// "prefix.NAME=value" → NAME, when line starts with prefix.
bool split_named(const std::string& field, const char* prefix, std::string& name) {
    std::string p = std::string(prefix) + ".";
    if (field.compare(0, p.size(), p) != 0) return false;
    name = field.substr(p.size());
    return true;
}

void apply(PolicyRequest& r, const std::string& field, const std::string& value) {
    std::string name;
    if (field == "transaction_id") r.transaction_id = value;
    else if (field == "message_type") r.message_type = value;
    else if (field == "profile") r.profile = value;
    else if (field == "subject") r.subject = value;
    else if (field == "key_type") r.key_type = value;
    else if (field == "key_bits") r.key_bits = int(std::strtol(value.c_str(), nullptr, 10) % 100000);
    else if (field == "client_ip") r.client_ip = value;
    else if (field == "user_agent") r.user_agent = value;
    else if (field == "client_os") r.client_os = value;
    else if (field == "signer_cert_pem") r.signer_cert_pem = value;
    else if (field == "key_usage") r.key_usage.push_back(value);
    else if (field == "eku") r.extended_key_usage.push_back(value);
    else if (split_named(field, "subject", name)) r.subject_fields[name] = value;
    else if (split_named(field, "san", name)) r.sans.emplace_back(name, value);
    else if (split_named(field, "claim", name)) r.claims[name] = value;
    else if (split_named(field, "template", name)) r.templates[name] = value;
}

PolicyRequest request_of(const std::string& text) {
    PolicyRequest r;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        std::size_t eq = line.find('=');
        if (eq != std::string::npos) apply(r, line.substr(0, eq), line.substr(eq + 1));
        start = end + 1;
    }
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto engines = compile_engines();
    const PolicyRequest req = request_of(fuzz::text_of(data, size));
    for (const auto& engine : engines) {
        try {
            PolicyDecision d = engine->verify_request(req);
            (void)d;
        } catch (const PolicyError&) {
        }
        try {
            (void)engine->generate_challenge(req.claims);
        } catch (const PolicyError&) {
        }
        try {
            engine->notify({req.transaction_id, req.message_type, req.profile, req.subject, req.client_ip, req.user_agent});
        } catch (const PolicyError&) {
        }
    }
    return 0;
}
