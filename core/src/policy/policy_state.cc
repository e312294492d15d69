// One lua_State under limits: memory through our lua_Alloc, instructions
// through a count hook. A bad policy (an endless loop, a growing table) must
// cost one failed request, never a stalled or swollen worker.
#include "policy/policy_lua.h"

#include <climits>
#include <cstdlib>

namespace scepter::policy_lua {
namespace {

LuaState* owner_of(lua_State* L) noexcept {
    return *static_cast<LuaState**>(lua_getextraspace(L));
}

// Only reached if a Lua error escapes every lua_pcall, which our code never
// lets happen. Throwing (Lua is C++ here) beats Lua's default abort(); the
// state is then dropped by whoever called.
int panic(lua_State* L) {
    const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unprotected Lua error";
    throw PolicyError(std::string("policy engine: ") + msg);
}

int hook_count(std::int64_t max_instructions) noexcept {
    if (max_instructions < 1) return 1;
    return max_instructions > INT_MAX ? INT_MAX : int(max_instructions);
}

}  // namespace

LuaState::LuaState(const PolicyLimits& limits) : limits_(limits) {
    budget_.limit = limits.max_memory_bytes;
    state_.reset(lua_newstate(&LuaState::allocate, &budget_));
    if (!state_) throw PolicyError("policy engine: cannot create a Lua state within the memory limit");
    *static_cast<LuaState**>(lua_getextraspace(state_.get())) = this;
    lua_atpanic(state_.get(), panic);
}

// The lua_Alloc contract: nsize 0 frees; otherwise realloc semantics, and
// NULL for a refused growth (Lua then collects garbage and retries once
// before it raises a memory error). When ptr is NULL, osize is a type tag,
// not a size. This is the one place that calls realloc/free: it is the
// allocator Lua asks us to be.
void* LuaState::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) noexcept {
    auto* budget = static_cast<Budget*>(ud);
    std::size_t old = ptr != nullptr ? osize : 0;
    if (nsize == 0) {
        std::free(ptr);
        budget->used -= old;
        return nullptr;
    }
    if (nsize > old && nsize - old > budget->limit - budget->used) {
        budget->refused = true;
        return nullptr;
    }
    void* grown = std::realloc(ptr, nsize);
    if (grown != nullptr) budget->used = budget->used - old + nsize;
    return grown;
}

// Fires once the instruction budget is spent. From then on it fires after
// every instruction, so a policy's own pcall cannot swallow the error and
// carry on: every instruction of the handler fails again, up to our
// lua_pcall.
void LuaState::count_hook(lua_State* L, lua_Debug*) {
    owner_of(L)->instructions_spent_ = true;
    lua_sethook(L, &LuaState::count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "instruction limit exceeded");
}

void LuaState::call(lua_CFunction fn, void* ctx, const std::string& what) {
    lua_State* L = state_.get();
    lua_settop(L, 0);
    budget_.refused = false;
    instructions_spent_ = false;
    lua_sethook(L, &LuaState::count_hook, LUA_MASKCOUNT, hook_count(limits_.max_instructions));
    lua_pushcfunction(L, fn);      // [fn]: a light C function, allocates nothing
    lua_pushlightuserdata(L, ctx); // [fn ctx]
    int status = lua_pcall(L, 1, 0, 0);  // [] or [error]
    lua_sethook(L, nullptr, 0, 0);
    if (status != LUA_OK) throw PolicyError(what.empty() ? failure(status) : what + ": " + failure(status));
}

// [error] → [error]: the error text, naming the limit when one was hit. The
// flags win over the message: a policy may have caught the limit's error
// and raised something else.
std::string LuaState::failure(int status) const {
    if (instructions_spent_)
        return "instruction limit exceeded (" + std::to_string(limits_.max_instructions) + " instructions)";
    if (status == LUA_ERRMEM || budget_.refused)
        return "memory limit exceeded (" + std::to_string(limits_.max_memory_bytes) + " bytes)";
    lua_State* L = state_.get();
    // lua_tostring on anything but a string would allocate (numbers are
    // converted in place), outside any pcall.
    if (lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
    return std::string("error object is a ") + luaL_typename(L, -1) + " value";
}

}  // namespace scepter::policy_lua
