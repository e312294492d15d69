// Library functions whose C loops run out of sight of the count hook, which
// only sees VM instructions:
//   - the pattern functions (string.find, match, gmatch, gsub): Lua's matcher
//     backtracks, string.find(("a-"):rep(2000), "(.-)-(.-)-(.-)-(.-)-x")
//     would run for hours inside one call;
//   - string.rep of an empty string and separator, which loops n times
//     without allocating (so without meeting the memory limit either);
//   - table.move, which loops over its range without allocating when it
//     moves nils.
// Each is replaced, in the library table itself (which the string metatable
// shares, so ("x"):find() is covered too), by a C closure that checks or
// charges its arguments before it calls the original (upvalue 1).
#include "policy/policy_lua.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace scepter::policy_lua {
namespace {

// A pattern is a few dozen bytes in any real policy; the bound keeps the
// matcher's per-step cost small.
constexpr std::size_t kMaxPatternBytes = 256;

// Worst-case matcher steps one pattern call may cost, per millisecond of the
// policy's time limit: a worst-case step (a recursive match() call) was
// measured at 10-60 ns, the high end on a loaded 2-core machine, so a call
// allowed this many steps ends within about the time limit.
constexpr double kMatcherStepsPerMs = 20'000;

// What makes a pattern expensive: each item the matcher may retry at many
// lengths (a repetition with *, + or -, a %b balance or a %1 back-reference
// scans up to the whole subject) multiplies the worst case by the subject's
// length; each ? doubles it; an unanchored pattern is tried at every start.
struct PatternShape {
    int scanning_items = 0;
    int optional_items = 0;
    bool anchored = false;
};

// One past the set that starts at p[i] == '[' (or len for a malformed one,
// which the real matcher then reports).
std::size_t set_end(const char* p, std::size_t len, std::size_t i) {
    ++i;
    if (i < len && p[i] == '^') ++i;
    do {
        if (i >= len) return len;
        i += p[i] == '%' ? 2 : 1;
    } while (i < len && p[i] != ']');
    return i < len ? i + 1 : len;
}

PatternShape shape_of(const char* p, std::size_t len, bool anchor_allowed) {
    PatternShape shape;
    std::size_t i = 0;
    if (anchor_allowed && len > 0 && p[0] == '^') {
        shape.anchored = true;
        i = 1;
    }
    while (i < len) {
        char c = p[i];
        if (c == '(' || c == ')') {
            ++i;
            continue;
        }
        if (c == '%' && i + 1 < len && (p[i + 1] == 'b' || (p[i + 1] >= '0' && p[i + 1] <= '9'))) {
            ++shape.scanning_items;
            i += p[i + 1] == 'b' ? 4 : 2;
            continue;
        }
        if (c == '%' && i + 1 < len && p[i + 1] == 'f') {
            i = set_end(p, len, i + 2);
            continue;
        }
        i = c == '[' ? set_end(p, len, i) : i + (c == '%' ? 2 : 1);
        if (i >= len) break;
        if (p[i] == '*' || p[i] == '+' || p[i] == '-') {
            ++shape.scanning_items;
            ++i;
        } else if (p[i] == '?') {
            ++shape.optional_items;
            ++i;
        }
    }
    return shape;
}

double worst_case_steps(const PatternShape& shape, std::size_t subject_len) {
    double n = double(subject_len) + 1;
    int exponent = shape.scanning_items + (shape.anchored ? 0 : 1);
    return std::pow(n, exponent) * std::pow(2.0, shape.optional_items);
}

// [s pattern ...] → [s pattern ...]: refuses (a Lua error) what could run
// long inside the matcher, and charges the subject's length, one
// instruction a byte.
void check_pattern_call(lua_State* L, const char* name, bool anchor_allowed) {
    std::size_t subject_len = 0;
    std::size_t pattern_len = 0;
    luaL_checklstring(L, 1, &subject_len);
    const char* pattern = luaL_checklstring(L, 2, &pattern_len);
    LuaState& state = LuaState::of(L);
    std::size_t max_subject = state.limits().max_pattern_subject_bytes;
    if (subject_len > max_subject)
        luaL_error(L, "string.%s: subject of %d bytes is over the policy limit of %d bytes", name, int(subject_len),
                   int(max_subject));
    if (pattern_len > kMaxPatternBytes)
        luaL_error(L, "string.%s: pattern of %d bytes is over the limit of %d bytes", name, int(pattern_len),
                   int(kMaxPatternBytes));
    double max_steps = double(state.limits().max_time_ms) * kMatcherStepsPerMs;
    if (worst_case_steps(shape_of(pattern, pattern_len, anchor_allowed), subject_len) > max_steps)
        luaL_error(L, "string.%s: pattern too costly for a subject of %d bytes within the time limit (too many "
                   "repetitions)", name, int(subject_len));
    state.charge(L, std::int64_t(subject_len));
}

// [args...] → [results...]: the original (upvalue 1) called with args.
int call_original(lua_State* L) {
    int nargs = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));  // [args... orig]
    lua_insert(L, 1);                        // [orig args...]
    lua_call(L, nargs, LUA_MULTRET);         // [results...]
    return lua_gettop(L);
}

// find, match and gsub take '^' as an anchor; gmatch matches it literally.
int bounded_pattern_call(lua_State* L) {
    const char* name = lua_tostring(L, lua_upvalueindex(2));
    check_pattern_call(L, name, std::string_view(name) != "gmatch");
    int results = call_original(L);
    LuaState::of(L).charge(L, 0);  // reads the clock: the call may have been long
    return results;
}

// string.rep(s, n, sep): with s and sep both empty the result is "" for any
// n, but the original would still loop n times.
int bounded_rep(lua_State* L) {
    std::size_t len = 0;
    std::size_t sep_len = 0;
    luaL_checklstring(L, 1, &len);
    luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &sep_len);
    if (len + sep_len == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return call_original(L);  // the result's size, under the memory limit, bounds the loop
}

// table.move(a1, f, e, t [, a2]): one instruction per element moved.
int bounded_move(lua_State* L) {
    lua_Integer first = luaL_checkinteger(L, 2);
    lua_Integer last = luaL_checkinteger(L, 3);
    if (last >= first) {
        lua_Unsigned count = lua_Unsigned(last) - lua_Unsigned(first) + 1;
        constexpr auto max = lua_Unsigned(std::numeric_limits<std::int64_t>::max());
        LuaState::of(L).charge(L, std::int64_t(count > max || count == 0 ? max : count));
    }
    return call_original(L);
}

// [lib] → [lib]: lib[name] = fn with upvalues (the original, name).
void wrap(lua_State* L, const char* name, lua_CFunction fn) {
    lua_getfield(L, -1, name);   // [lib orig]
    lua_pushstring(L, name);     // [lib orig name]
    lua_pushcclosure(L, fn, 2);  // [lib wrapped]
    lua_setfield(L, -2, name);   // [lib]
}

}  // namespace

void bound_library_loops(lua_State* L) {  // [] → []
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);  // [string]
    for (const char* name : {"find", "match", "gmatch", "gsub"}) wrap(L, name, bounded_pattern_call);
    wrap(L, "rep", bounded_rep);
    lua_pop(L, 1);                                        // []
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);   // [table]
    wrap(L, "move", bounded_move);
    lua_pop(L, 1);                                        // []
}

}  // namespace scepter::policy_lua
