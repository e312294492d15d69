// Internals of the Lua policy engine (policy.h), shared by its five files:
//   policy_state.cc    one lua_State under instruction, memory and time limits
//   policy_sandbox.cc  the whitelisted environment each evaluation gets
//   policy_bounded.cc  library functions whose C loops the limits cannot see
//   policy_marshal.cc  PolicyRequest/PolicyResult → Lua, Lua → decisions
//   policy_engine.cc   compiling a file, the per-generation state pool
//
// Lua is built as C++ (cmake/FetchLua.cmake): a Lua error unwinds as a C++
// exception, so destructors of C++ locals in our Lua C functions run. Two
// rules follow. Every Lua API call that can raise an error runs inside
// lua_pcall (an error outside one would call the panic function and abort).
// And no C++ exception may cross into Lua: lua_pcall would catch it as an
// unknown status with a garbage message; lua_guard turns it into a Lua error.
//
// Every helper states its stack effect as [before] → [after].
#pragma once

#include "policy/policy.h"

#include <lua.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace scepter::policy_lua {

// One Lua state with its limits: a lua_Alloc that refuses to grow past
// max_memory_bytes, and a count hook that stops a call after
// max_instructions VM instructions or max_time_ms of wall clock.
class LuaState {
   public:
    explicit LuaState(const PolicyLimits& limits);  // throws PolicyError
    LuaState(const LuaState&) = delete;
    LuaState& operator=(const LuaState&) = delete;

    lua_State* get() const noexcept { return state_.get(); }
    const PolicyLimits& limits() const noexcept { return limits_; }
    static LuaState& of(lua_State* L) noexcept;

    // Counts work done inside a C function against the instruction budget,
    // then checks both budgets: raises a Lua error (that the policy cannot
    // catch for good) once either is spent. Only during call().
    void charge(lua_State* L, std::int64_t instructions);

    // [] → []: runs fn with the light userdata ctx as its only argument,
    // under lua_pcall and the limits. Throws PolicyError, whose text starts
    // with "what: " (unless what is empty), when fn fails. After a failure
    // the state may hold half a computation and a spent budget: callers
    // drop it.
    void call(lua_CFunction fn, void* ctx, const std::string& what);

   private:
    struct Budget {
        std::size_t limit = 0;
        std::size_t used = 0;
        bool refused = false;  // an allocation was refused during this call
    };
    struct Close {
        void operator()(lua_State* L) const noexcept { lua_close(L); }
    };

    static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept;
    enum class Spent { nothing, instructions, time };

    static void count_hook(lua_State* L, lua_Debug* ar);
    void check_budgets(lua_State* L);
    void arm_hook(lua_State* L) noexcept;
    std::string failure(int status) const;

    PolicyLimits limits_;
    Budget budget_;                   // declared before state_: lua_close still allocates
    Spent spent_ = Spent::nothing;
    std::int64_t instructions_used_ = 0;  // this call's, counted slice by slice
    int slice_ = 0;                       // instructions until the hook fires next
    std::chrono::steady_clock::time_point deadline_;
    std::unique_ptr<lua_State, Close> state_;
};

// Calls body() and returns what it returns; a C++ exception becomes a Lua
// error with the same text. Lua's own errors are not std::exceptions and
// pass through untouched.
template <typename Body>
int lua_guard(lua_State* L, Body&& body) {
    std::string error;
    try {
        return body();
    } catch (const std::exception& e) {
        error = e.what();
    }
    lua_pushlstring(L, error.data(), error.size());
    return lua_error(L);
}

// ---- sandbox (policy_sandbox.cc, policy_bounded.cc) ----

// [] → []: replaces the library functions whose C loops the count hook
// cannot see (the pattern functions, string.rep, table.move) with checked
// ones, in this state's library tables, before the sandbox copies them.
void bound_library_loops(lua_State* L);

// [] → []: builds this state's sandbox template (the whitelisted globals and
// library tables, and the `scep` helper table) and returns its registry ref.
int make_sandbox_template(lua_State* L);

// [] → [env]: a fresh environment for one evaluation: a copy of the
// template whose library tables are copies too, so nothing a policy stores,
// not even string.x = 1, reaches the next evaluation.
void push_fresh_env(lua_State* L, int template_ref);

// ---- marshalling (policy_marshal.cc) ----

void push_request(lua_State* L, const PolicyRequest& req);                  // [] → [req]
void push_result(lua_State* L, const PolicyResult& result);                 // [] → [result]
void push_string_map(lua_State* L, const std::map<std::string, std::string>& m);  // [] → [t]

// [... v1 v2] → [... v1 v2]: verify_request's two return values, at idx
// and idx + 1. Throws PolicyError for a malformed decision.
PolicyDecision read_decision(lua_State* L, int idx);

// [... v1 v2] → [... v1 v2]: generate_challenge's two return values.
ChallengeDecision read_challenge_decision(lua_State* L, int idx);

}  // namespace scepter::policy_lua
