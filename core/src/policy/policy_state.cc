// One lua_State under limits: memory through our lua_Alloc, instructions
// and wall-clock time through a count hook. A bad policy (an endless loop, a growing table) must
// cost one failed request, never a stalled or swollen worker.
#include "policy/policy_lua.h"

#include <algorithm>
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

constexpr std::int64_t kHookSlice = 10'000;  // instructions: tens of microseconds

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

LuaState& LuaState::of(lua_State* L) noexcept { return *owner_of(L); }

// Arms the hook for the next slice: the rest of the instruction budget, but
// at most kHookSlice, so the wall clock is read every few thousand
// instructions rather than only when the instruction budget runs out.
void LuaState::arm_hook(lua_State* L) noexcept {
    std::int64_t left = limits_.max_instructions - instructions_used_;
    slice_ = int(std::clamp<std::int64_t>(left, 1, kHookSlice));
    lua_sethook(L, &LuaState::count_hook, LUA_MASKCOUNT, slice_);
}

void LuaState::count_hook(lua_State* L, lua_Debug*) {
    LuaState& self = of(L);
    self.instructions_used_ += self.slice_;
    self.check_budgets(L);
    self.arm_hook(L);
}

void LuaState::charge(lua_State* L, std::int64_t instructions) {
    std::int64_t left = limits_.max_instructions - instructions_used_;
    instructions_used_ += std::clamp<std::int64_t>(instructions, 0, std::max<std::int64_t>(left, 0));
    check_budgets(L);
}

// Once a budget is spent the hook fires after every instruction, so a
// policy's own pcall cannot swallow the error and carry on: every
// instruction of the handler fails again, up to our lua_pcall.
void LuaState::check_budgets(lua_State* L) {
    if (spent_ == Spent::nothing) {
        if (instructions_used_ >= limits_.max_instructions)
            spent_ = Spent::instructions;
        else if (std::chrono::steady_clock::now() >= deadline_)
            spent_ = Spent::time;
        else
            return;
    }
    slice_ = 1;
    lua_sethook(L, &LuaState::count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, spent_ == Spent::time ? "time limit exceeded" : "instruction limit exceeded");
}

void LuaState::call(lua_CFunction fn, void* ctx, const std::string& what) {
    lua_State* L = state_.get();
    lua_settop(L, 0);
    budget_.refused = false;
    spent_ = Spent::nothing;
    instructions_used_ = 0;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits_.max_time_ms);
    arm_hook(L);
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
    if (spent_ == Spent::instructions)
        return "instruction limit exceeded (" + std::to_string(limits_.max_instructions) + " instructions)";
    if (spent_ == Spent::time) return "time limit exceeded (" + std::to_string(limits_.max_time_ms) + " ms)";
    if (status == LUA_ERRMEM || budget_.refused)
        return "memory limit exceeded (" + std::to_string(limits_.max_memory_bytes) + " bytes)";
    lua_State* L = state_.get();
    // lua_tostring on anything but a string would allocate (numbers are
    // converted in place), outside any pcall.
    if (lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
    return std::string("error object is a ") + luaL_typename(L, -1) + " value";
}

}  // namespace scepter::policy_lua
