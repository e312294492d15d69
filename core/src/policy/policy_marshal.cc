// C++ ↔ Lua: the tables the hooks see (req, result, ctx) and the values
// they return. Everything here runs inside lua_pcall (policy_lua.h).
#include "policy/policy_lua.h"

#include <array>
#include <cstring>

namespace scepter::policy_lua {
namespace {

constexpr std::array<const char*, 5> kSanTypes = {"dns", "email", "uri", "ip", "upn"};

// [t] → [t]: t[key] = value.
void set_string(lua_State* L, const char* key, const std::string& value) {
    lua_pushlstring(L, value.data(), value.size());  // [t v]
    lua_setfield(L, -2, key);                        // [t]
}

// [] → [list]: {"a", "b", ...}.
void push_string_list(lua_State* L, const std::vector<std::string>& items) {
    lua_createtable(L, int(items.size()), 0);  // [list]
    lua_Integer i = 0;
    for (const auto& item : items) {
        lua_pushlstring(L, item.data(), item.size());  // [list item]
        lua_rawseti(L, -2, ++i);                        // [list]
    }
}

// [] → [sans]: {{type = "dns", value = "a.example"}, ...}.
void push_sans(lua_State* L, const std::vector<std::pair<std::string, std::string>>& sans) {
    lua_createtable(L, int(sans.size()), 0);  // [sans]
    lua_Integer i = 0;
    for (const auto& [type, value] : sans) {
        lua_createtable(L, 0, 2);             // [sans san]
        set_string(L, "type", type);
        set_string(L, "value", value);
        lua_rawseti(L, -2, ++i);              // [sans]
    }
}

std::string type_name(lua_State* L, int idx) { return luaL_typename(L, idx); }

// [...] → [...]: the string at idx, or a PolicyError naming `what`.
std::string string_at(lua_State* L, int idx, const std::string& what) {
    if (lua_type(L, idx) != LUA_TSTRING) throw PolicyError(what + " must be a string, not " + type_name(L, idx));
    std::size_t n = 0;
    const char* s = lua_tolstring(L, idx, &n);
    return std::string(s, n);
}

// [... t ...] → [... t ...]: t[key] as a string, or nullopt when nil.
std::optional<std::string> optional_field(lua_State* L, int t, const char* key, const std::string& what) {
    lua_getfield(L, t, key);  // [... v]
    std::optional<std::string> out;
    if (!lua_isnil(L, -1)) out = string_at(L, -1, what + "." + key);
    lua_pop(L, 1);            // [...]
    return out;
}

// [... v ...] → [... v ...]: a string map value: strings, numbers and
// booleans (claims like min_key_size = 2048 are natural to write as numbers).
std::string scalar_at(lua_State* L, int idx, const std::string& what) {
    switch (lua_type(L, idx)) {
        case LUA_TSTRING: return string_at(L, idx, what);
        case LUA_TBOOLEAN: return lua_toboolean(L, idx) ? "true" : "false";
        case LUA_TNUMBER: {
            lua_pushvalue(L, idx);                   // [... n]: converted in place
            std::string s = lua_tostring(L, -1);
            lua_pop(L, 1);                           // [...]
            return s;
        }
        default: throw PolicyError(what + " must be a string, number or boolean, not " + type_name(L, idx));
    }
}

// [... t ...] → [... t ...]: a table of string keys to scalar values.
std::map<std::string, std::string> read_string_map(lua_State* L, int t, const std::string& what) {
    std::map<std::string, std::string> out;
    lua_pushnil(L);                  // [... nil]
    while (lua_next(L, t)) {         // [... k v]
        if (lua_type(L, -2) != LUA_TSTRING) throw PolicyError(what + " keys must be strings");
        std::string key = lua_tostring(L, -2);
        out[key] = scalar_at(L, -1, what + "." + key);
        lua_pop(L, 1);               // [... k]
    }
    return out;
}

std::pair<std::string, std::string> checked_san(std::string type, std::string value, const std::string& what) {
    bool known = false;
    for (const char* t : kSanTypes) known = known || type == t;
    if (!known) throw PolicyError(what + ": unknown SAN type '" + type + "' (dns, email, uri, ip, upn)");
    if (value.empty()) throw PolicyError(what + ": empty " + type + " SAN");
    return {std::move(type), std::move(value)};
}

// [... san ...] → [... san ...]: "type:value" or {type = ..., value = ...}.
std::pair<std::string, std::string> read_san(lua_State* L, int idx, const std::string& what) {
    if (lua_type(L, idx) == LUA_TSTRING) {
        std::string s = string_at(L, idx, what);
        auto colon = s.find(':');
        if (colon == std::string::npos) throw PolicyError(what + ": '" + s + "' is not type:value");
        return checked_san(s.substr(0, colon), s.substr(colon + 1), what);
    }
    if (lua_type(L, idx) != LUA_TTABLE) throw PolicyError(what + " must be a table or a \"type:value\" string");
    auto type = optional_field(L, idx, "type", what);
    auto value = optional_field(L, idx, "value", what);
    return checked_san(type.value_or(""), value.value_or(""), what);
}

// [... sans ...] → [... sans ...]: the array of SANs a decision sets.
std::vector<std::pair<std::string, std::string>> read_sans(lua_State* L, int t) {
    if (lua_type(L, t) != LUA_TTABLE) throw PolicyError("decision.sans must be an array");
    std::vector<std::pair<std::string, std::string>> out;
    lua_Integer n = luaL_len(L, t);
    for (lua_Integer i = 1; i <= n; ++i) {
        lua_geti(L, t, i);  // [... san]
        out.push_back(read_san(L, lua_gettop(L), "decision.sans[" + std::to_string(i) + "]"));
        lua_pop(L, 1);      // [...]
    }
    return out;
}

PolicyDecision::Verdict verdict_of(const std::string& v) {
    if (v == "allow") return PolicyDecision::Verdict::allow;
    if (v == "deny") return PolicyDecision::Verdict::deny;
    if (v == "pending") return PolicyDecision::Verdict::pending;
    throw PolicyError("decision.verdict must be allow, deny or pending, not '" + v + "'");
}

// [... d ...] → [... d ...]: {verdict = ..., template = ..., reason = ..., sans = ..., sid = ...}.
PolicyDecision read_decision_table(lua_State* L, int t) {
    PolicyDecision d;
    auto verdict = optional_field(L, t, "verdict", "decision");
    if (!verdict) throw PolicyError("decision.verdict is missing (allow, deny or pending)");
    d.verdict = verdict_of(*verdict);
    d.template_name = optional_field(L, t, "template", "decision").value_or("");
    d.reason = optional_field(L, t, "reason", "decision").value_or("");
    lua_getfield(L, t, "sans");  // [... sans]
    if (!lua_isnil(L, -1)) d.sans = read_sans(L, lua_gettop(L));
    lua_pop(L, 1);               // [...]
    d.sid = optional_field(L, t, "sid", "decision");
    return d;
}

}  // namespace

void push_string_map(lua_State* L, const std::map<std::string, std::string>& m) {  // [] → [t]
    lua_createtable(L, 0, int(m.size()));
    for (const auto& [k, v] : m) set_string(L, k.c_str(), v);
}

void push_request(lua_State* L, const PolicyRequest& r) {  // [] → [req]
    lua_createtable(L, 0, 20);  // [req]
    set_string(L, "transaction_id", r.transaction_id);
    set_string(L, "message_type", r.message_type);
    set_string(L, "profile", r.profile);
    set_string(L, "subject", r.subject);
    set_string(L, "key_type", r.key_type);
    set_string(L, "client_ip", r.client_ip);
    set_string(L, "user_agent", r.user_agent);
    set_string(L, "client_os", r.client_os);
    if (!r.signer_cert_pem.empty()) set_string(L, "signer_cert_pem", r.signer_cert_pem);
    lua_pushinteger(L, r.key_bits);              // [req n]
    lua_setfield(L, -2, "key_bits");             // [req]
    push_string_map(L, r.subject_fields);        // [req t]
    lua_setfield(L, -2, "subject_fields");       // [req]
    push_sans(L, r.sans);
    lua_setfield(L, -2, "sans");
    push_string_list(L, r.key_usage);
    lua_setfield(L, -2, "key_usage");
    push_string_list(L, r.extended_key_usage);
    lua_setfield(L, -2, "extended_key_usage");
    push_string_map(L, r.claims);
    lua_setfield(L, -2, "claims");
    push_string_map(L, r.templates);
    lua_setfield(L, -2, "templates");
}

void push_result(lua_State* L, const PolicyResult& r) {  // [] → [result]
    lua_createtable(L, 0, 6);
    set_string(L, "transaction_id", r.transaction_id);
    set_string(L, "status", r.status);
    set_string(L, "fail_info", r.fail_info);
    set_string(L, "reason", r.reason);
    set_string(L, "serial", r.serial);
    set_string(L, "sha256", r.sha256);
}

// true → allow; false[, reason] → deny; a decision table; nil is an error:
// a policy that forgets to return must not allow by accident.
PolicyDecision read_decision(lua_State* L, int idx) {  // [... v1 v2] → same
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
        case LUA_TTABLE: {
            PolicyDecision d = read_decision_table(L, idx);
            if (d.verdict == PolicyDecision::Verdict::deny && d.reason.empty()) d.reason = "denied by policy";
            return d;
        }
        case LUA_TBOOLEAN: {
            PolicyDecision d;
            if (lua_toboolean(L, idx)) return d;
            d.verdict = PolicyDecision::Verdict::deny;
            d.reason = lua_type(L, idx + 1) == LUA_TSTRING ? lua_tostring(L, idx + 1) : "denied by policy";
            return d;
        }
        case LUA_TNIL: throw PolicyError("returned no decision (return a table, true, or false and a reason)");
        default: throw PolicyError("returned a " + type_name(L, idx) + ", not a decision");
    }
}

// A table of claims → allowed; true → allowed without claims; nil or
// false[, reason] → refused.
ChallengeDecision read_challenge_decision(lua_State* L, int idx) {  // [... v1 v2] → same
    idx = lua_absindex(L, idx);
    ChallengeDecision d;
    switch (lua_type(L, idx)) {
        case LUA_TTABLE: d.claims = read_string_map(L, idx, "claims"); return d;
        case LUA_TBOOLEAN:
            if (lua_toboolean(L, idx)) return d;
            [[fallthrough]];
        case LUA_TNIL:
            d.allowed = false;
            d.reason = lua_type(L, idx + 1) == LUA_TSTRING ? lua_tostring(L, idx + 1) : "refused by policy";
            return d;
        default: throw PolicyError("returned a " + type_name(L, idx) + ", not a table of claims");
    }
}

}  // namespace scepter::policy_lua
