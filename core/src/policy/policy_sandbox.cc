// What a policy can reach: a whitelist of the base functions and of the
// string, table, math and utf8 libraries, os.time/os.date/os.clock, and the
// `scep` helper table. Not there: load, loadfile, dofile, require, print, io,
// os.execute and the rest of os, debug, coroutine, string.dump, and the
// collectgarbage modes that change the collector. (io, debug, package and
// linit are not even compiled in: cmake/FetchLua.cmake.)
//
// Each state builds a template once; each evaluation gets a copy of it.
#include "policy/policy_lua.h"

#include "scepter/ossl.h"

#include <openssl/objects.h>

#include <cstring>

namespace scepter::policy_lua {
namespace {

constexpr const char* kBaseNames[] = {
    "assert", "error",  "getmetatable", "ipairs",   "next",     "pairs",        "pcall",   "rawequal",
    "rawget", "rawlen", "rawset",       "select",   "tonumber", "tostring",     "type",    "xpcall",
    "_VERSION"};
constexpr const char* kOsNames[] = {"clock", "date", "time"};

// [t] → [t]: copies src[name] into t (the table on top) for each name.
template <std::size_t N>
void copy_names(lua_State* L, int src, const char* const (&names)[N]) {
    for (const char* name : names) {
        lua_getfield(L, src, name);  // [t v]
        lua_setfield(L, -2, name);   // [t]
    }
}

// [src] → [copy]: a shallow copy of the table on top.
void replace_with_copy(lua_State* L) {
    lua_newtable(L);            // [src copy]
    lua_pushnil(L);             // [src copy nil]
    while (lua_next(L, -3)) {   // [src copy k v]
        lua_pushvalue(L, -2);   // [src copy k v k]
        lua_insert(L, -2);      // [src copy k k v]
        lua_rawset(L, -4);      // [src copy k]
    }
    lua_remove(L, -2);          // [copy]
}

// collectgarbage, minus what changes the collector (stop, restart, the
// modes and their tuning): "collect", "step", "count", "isrunning".
int sandbox_collectgarbage(lua_State* L) {  // [opt arg?] → [result]
    static const char* const options[] = {"collect", "step", "count", "isrunning", nullptr};
    switch (luaL_checkoption(L, 1, "collect", options)) {
        case 0: lua_gc(L, LUA_GCCOLLECT); lua_pushinteger(L, 0); return 1;
        case 1: lua_pushboolean(L, lua_gc(L, LUA_GCSTEP, int(luaL_optinteger(L, 2, 0)))); return 1;
        case 2: lua_pushnumber(L, lua_gc(L, LUA_GCCOUNT) + lua_gc(L, LUA_GCCOUNTB) / 1024.0); return 1;
        default: lua_pushboolean(L, lua_gc(L, LUA_GCISRUNNING)); return 1;
    }
}

// [reason?] → [decision]: builds {verdict = v, [key] = arg 1}.
int make_decision(lua_State* L, const char* verdict, const char* key) {
    const char* arg = luaL_optstring(L, 1, nullptr);
    lua_createtable(L, 0, 2);     // [arg? d]
    lua_pushstring(L, verdict);   // [arg? d verdict]
    lua_setfield(L, -2, "verdict");
    if (arg != nullptr) {
        lua_pushstring(L, arg);   // [arg? d arg]
        lua_setfield(L, -2, key);
    }
    return 1;
}

int scep_allow(lua_State* L) { return make_decision(L, "allow", "template"); }     // scep.allow([template])
int scep_pending(lua_State* L) { return make_decision(L, "pending", "template"); } // scep.pending([template])
int scep_deny(lua_State* L) {                                                      // scep.deny(reason)
    luaL_checkstring(L, 1);
    return make_decision(L, "deny", "reason");
}

// scep.oid(name_or_oid) → dotted OID, or nil for an unknown name:
// scep.oid("clientAuth") == "1.3.6.1.5.5.7.3.2".
int scep_oid(lua_State* L) {  // [name] → [oid|nil]
    const char* name = luaL_checkstring(L, 1);
    ossl::Asn1Object obj(OBJ_txt2obj(name, 0));
    char buf[128];
    if (!obj || OBJ_obj2txt(buf, sizeof buf, obj.get(), 1) <= 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, buf);  // a Lua error here unwinds obj's destructor too
    return 1;
}

// scep.contains(list, value): is value an element of the array list?
int scep_contains(lua_State* L) {  // [list value] → [bool]
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; ++i) {
        lua_geti(L, 1, i);                                // [list value v]
        bool same = lua_compare(L, -1, 2, LUA_OPEQ) != 0;
        lua_pop(L, 1);                                    // [list value]
        if (same) {
            lua_pushboolean(L, 1);
            return 1;
        }
    }
    lua_pushboolean(L, 0);
    return 1;
}

// [t] → [t]: t.scep = the helper table.
void add_scep_table(lua_State* L) {
    static const luaL_Reg helpers[] = {{"allow", scep_allow},   {"deny", scep_deny},
                                       {"pending", scep_pending}, {"oid", scep_oid},
                                       {"contains", scep_contains}, {nullptr, nullptr}};
    luaL_newlib(L, helpers);        // [t scep]
    lua_setfield(L, -2, "scep");    // [t]
}

// [t] → [t]: t[name] = a copy of library `name` (opened by open), minus
// the names in `drop`.
void add_library(lua_State* L, const char* name, lua_CFunction open, const char* drop = nullptr) {
    luaL_requiref(L, name, open, 0);  // [t lib]
    replace_with_copy(L);             // [t copy]
    if (drop != nullptr) {
        lua_pushnil(L);               // [t copy nil]
        lua_setfield(L, -2, drop);    // [t copy]
    }
    lua_setfield(L, -2, name);        // [t]
}

// [t] → [t]: the base whitelist, read from the real globals table, which
// policies never see (their _ENV is a fresh table).
void add_base(lua_State* L) {
    int t = lua_gettop(L);
    luaL_requiref(L, "_G", luaopen_base, 0);  // [t G]
    lua_pushvalue(L, t);                      // [t G t]
    copy_names(L, t + 1, kBaseNames);
    lua_pop(L, 2);                            // [t]
    lua_pushcfunction(L, sandbox_collectgarbage);
    lua_setfield(L, -2, "collectgarbage");
}

// [] → []: the string metatable is shared by every string in the state and
// stays reachable as ("").x: hide it from getmetatable and take dump out of
// the real string table, so neither leaks between evaluations.
void seal_strings(lua_State* L) {
    lua_pushliteral(L, "");             // [s]
    lua_getmetatable(L, -1);            // [s mt]
    lua_pushboolean(L, 0);              // [s mt false]
    lua_setfield(L, -2, "__metatable"); // [s mt]
    lua_getfield(L, -1, "__index");     // [s mt string]
    lua_pushnil(L);                     // [s mt string nil]
    lua_setfield(L, -2, "dump");        // [s mt string]
    lua_pop(L, 3);                      // []
}

}  // namespace

int make_sandbox_template(lua_State* L) {  // [] → []
    bound_library_loops(L);
    lua_newtable(L);                                   // [t]
    int t = lua_gettop(L);
    add_base(L);
    add_library(L, LUA_STRLIBNAME, luaopen_string, "dump");
    add_library(L, LUA_TABLIBNAME, luaopen_table);
    add_library(L, LUA_MATHLIBNAME, luaopen_math);
    add_library(L, LUA_UTF8LIBNAME, luaopen_utf8);
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);   // [t os]
    lua_newtable(L);                                   // [t os safe_os]
    copy_names(L, t + 1, kOsNames);
    lua_setfield(L, t, LUA_OSLIBNAME);                 // [t os]
    lua_pop(L, 1);                                     // [t]
    add_scep_table(L);
    seal_strings(L);
    return luaL_ref(L, LUA_REGISTRYINDEX);             // []
}

void push_fresh_env(lua_State* L, int template_ref) {  // [] → [env]
    lua_newtable(L);                                   // [env]
    lua_rawgeti(L, LUA_REGISTRYINDEX, template_ref);   // [env tpl]
    lua_pushnil(L);                                    // [env tpl nil]
    while (lua_next(L, -2)) {                          // [env tpl k v]
        if (lua_type(L, -1) == LUA_TTABLE) replace_with_copy(L);  // [env tpl k v']
        lua_pushvalue(L, -2);                          // [env tpl k v k]
        lua_insert(L, -2);                             // [env tpl k k v]
        lua_rawset(L, -5);                             // [env tpl k]
    }
    lua_pop(L, 1);                                     // [env]
    lua_pushvalue(L, -1);                              // [env env]
    lua_setfield(L, -2, "_G");                         // [env]
}

}  // namespace scepter::policy_lua
