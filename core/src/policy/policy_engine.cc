// PolicyEngine for Lua: compile at configuration time, evaluate on pooled
// per-thread states.
//
// compile() loads the file in a throw-away state (a syntax error becomes a
// ConfigError with file and line, so `nginx -t` shows it), runs its top level
// once in the sandbox to learn which hooks it defines (and to report a
// top-level runtime error just as early), and keeps the bytecode. No state
// outlives compile(): the nginx master and Apache's dry run own no Lua state.
//
// Evaluation takes a state from the engine's pool, creating one lazily (so
// after fork) when none is idle: one state per concurrently evaluating
// thread, each used by one thread at a time. Each engine is one
// configuration generation with its own pool; a reload builds a new engine
// and the old pool goes when the old engine does. A state that saw a
// failure is dropped rather than returned, so a policy that hit a limit
// leaves no half-built tables or spent budget behind.
//
// Every evaluation re-runs the chunk's top level in a fresh environment and
// then calls the hook: top-level statements run once per call, and nothing a
// call stores survives it.
#include "policy/policy_lua.h"

#include "scepter/config.h"

#include <unistd.h>

#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

namespace scepter {
namespace {

using namespace policy_lua;

constexpr const char* kHooks[] = {"verify_request", "generate_challenge", "notify"};

// A pool state: the sandbox template and the compiled chunk, ready to run.
struct PolicyState {
    explicit PolicyState(const PolicyLimits& limits) : lua(limits) {}
    LuaState lua;
    int template_ref = LUA_NOREF;
    int chunk_ref = LUA_NOREF;
    pid_t pid = getpid();
};

// [] → [env]: a fresh environment with the chunk's top level run in it.
void push_evaluated_env(lua_State* L, int template_ref, int chunk_ref) {
    push_fresh_env(L, template_ref);               // [env]
    lua_rawgeti(L, LUA_REGISTRYINDEX, chunk_ref);  // [env chunk]
    lua_pushvalue(L, -2);                          // [env chunk env]
    lua_setupvalue(L, -2, 1);                      // [env chunk]: its _ENV is env
    lua_call(L, 0, 0);                             // [env]
}

// ---- compiling ----

struct CompileJob {
    const std::string* path;
    const std::string* source;
    std::string bytecode;
    std::set<std::string> hooks;
};

int append_bytecode(lua_State*, const void* p, std::size_t n, void* ud) noexcept {
    try {
        static_cast<std::string*>(ud)->append(static_cast<const char*>(p), n);
        return 0;
    } catch (const std::exception&) {
        return 1;  // lua_dump stops; no exception may cross Lua frames
    }
}

// [env] → [env]: which hooks the top level defined.
std::set<std::string> defined_hooks(lua_State* L) {
    std::set<std::string> hooks;
    for (const char* hook : kHooks) {
        int type = lua_getfield(L, -1, hook);  // [env v]
        if (type == LUA_TFUNCTION) hooks.insert(hook);
        else if (type != LUA_TNIL) throw PolicyError(std::string(hook) + " must be a function");
        lua_pop(L, 1);                         // [env]
    }
    if (hooks.empty()) throw PolicyError("defines none of verify_request, generate_challenge, notify");
    return hooks;
}

// [job] → []: load (text only), dump, run the top level once, list hooks.
int compile_chunk(lua_State* L) {
    return lua_guard(L, [L] {
        auto* job = static_cast<CompileJob*>(lua_touserdata(L, 1));
        std::string chunkname = "@" + *job->path;
        if (luaL_loadbufferx(L, job->source->data(), job->source->size(), chunkname.c_str(), "t") != LUA_OK)
            return lua_error(L);                          // [job msg]: "FILE:LINE: why"
        if (lua_dump(L, append_bytecode, &job->bytecode, 0) != 0) throw PolicyError("cannot save the bytecode");
        int chunk = luaL_ref(L, LUA_REGISTRYINDEX);       // [job]
        push_evaluated_env(L, make_sandbox_template(L), chunk);  // [job env]
        job->hooks = defined_hooks(L);
        return 0;
    });
}

std::string read_policy_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path, 0, "", "cannot read the policy file");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// "FILE:LINE: why" (Lua shortens long FILEs to "...tail") → ConfigError
// with our full path; anything else (a limit) → ConfigError without a line.
ConfigError compile_error(const std::string& path, const std::string& lua_message) {
    static const std::regex located(R"(^(.*?):([0-9]+): ([\s\S]*)$)");
    std::smatch m;
    if (std::regex_match(lua_message, m, located)) return ConfigError(path, std::stoi(m[2]), "", m[3]);
    return ConfigError(path, 0, "", lua_message);
}

// ---- evaluating ----

// One hook call, as run_hook needs it.
struct HookCall {
    const PolicyState* state = nullptr;
    const char* hook = nullptr;
    std::function<int(lua_State*)> push_args;     // [] → [args...]; returns their count
    std::function<void(lua_State*)> read_results; // [... r1 r2] → same
};

// [call] → []: env[hook](args...) in a fresh, evaluated environment.
int run_hook(lua_State* L) {
    return lua_guard(L, [L] {
        auto* call = static_cast<HookCall*>(lua_touserdata(L, 1));
        push_evaluated_env(L, call->state->template_ref, call->state->chunk_ref);  // [call env]
        lua_getfield(L, -1, call->hook);        // [call env fn]
        int nargs = call->push_args(L);         // [call env fn args...]
        lua_call(L, nargs, 2);                  // [call env r1 r2]
        call->read_results(L);
        return 0;
    });
}

// [state] → []: the sandbox template and the chunk, loaded from bytecode
// that compile() produced (so "b" mode, never text from elsewhere).
int prepare_state(lua_State* L) {
    return lua_guard(L, [L] {
        auto* job = static_cast<std::pair<PolicyState*, const std::string*>*>(lua_touserdata(L, 1));
        job->first->template_ref = make_sandbox_template(L);
        const std::string& code = *job->second;
        if (luaL_loadbufferx(L, code.data(), code.size(), "=policy", "b") != LUA_OK) return lua_error(L);
        job->first->chunk_ref = luaL_ref(L, LUA_REGISTRYINDEX);  // [state]
        return 0;
    });
}

class LuaPolicyEngine final : public PolicyEngine {
   public:
    LuaPolicyEngine(std::string path, std::string bytecode, std::set<std::string> hooks, const PolicyLimits& limits)
        : path_(std::move(path)), bytecode_(std::move(bytecode)), hooks_(std::move(hooks)), limits_(limits) {}

    PolicyDecision verify_request(const PolicyRequest& req) override;
    std::optional<ChallengeDecision> generate_challenge(const std::map<std::string, std::string>& ctx) override;
    void notify(const PolicyResult& result) override;
    bool has_hook(const std::string& name) const override { return hooks_.count(name) != 0; }

   private:
    void run(HookCall& call);
    std::unique_ptr<PolicyState> acquire();
    void release(std::unique_ptr<PolicyState> state);
    std::unique_ptr<PolicyState> make_state() const;

    const std::string path_;
    const std::string bytecode_;
    const std::set<std::string> hooks_;
    const PolicyLimits limits_;
    std::mutex mutex_;                                // guards the two below
    pid_t pid_ = getpid();
    std::vector<std::unique_ptr<PolicyState>> idle_;
};

std::unique_ptr<PolicyState> LuaPolicyEngine::make_state() const {
    auto state = std::make_unique<PolicyState>(limits_);
    std::pair<PolicyState*, const std::string*> job{state.get(), &bytecode_};
    state->lua.call(prepare_state, &job, path_);
    return state;
}

// States made before a fork are the parent's: the child drops its copies.
std::unique_ptr<PolicyState> LuaPolicyEngine::acquire() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (pid_ != getpid()) {
            idle_.clear();
            pid_ = getpid();
        }
        if (!idle_.empty()) {
            std::unique_ptr<PolicyState> state = std::move(idle_.back());
            idle_.pop_back();
            return state;
        }
    }
    return make_state();  // outside the lock: creating a state takes a while
}

void LuaPolicyEngine::release(std::unique_ptr<PolicyState> state) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state->pid == pid_) idle_.push_back(std::move(state));
}

// A failed call throws out of here and its state dies with `state`.
void LuaPolicyEngine::run(HookCall& call) {
    std::unique_ptr<PolicyState> state = acquire();
    call.state = state.get();
    state->lua.call(run_hook, &call, path_ + ": " + call.hook);
    release(std::move(state));
}

PolicyDecision LuaPolicyEngine::verify_request(const PolicyRequest& req) {
    PolicyDecision decision;
    if (!has_hook("verify_request")) return decision;
    HookCall call;
    call.hook = "verify_request";
    call.push_args = [&req](lua_State* L) {
        push_request(L, req);
        return 1;
    };
    call.read_results = [&decision](lua_State* L) { decision = read_decision(L, -2); };
    run(call);
    return decision;
}

std::optional<ChallengeDecision> LuaPolicyEngine::generate_challenge(const std::map<std::string, std::string>& ctx) {
    if (!has_hook("generate_challenge")) return std::nullopt;
    ChallengeDecision decision;
    HookCall call;
    call.hook = "generate_challenge";
    call.push_args = [&ctx](lua_State* L) {
        push_string_map(L, ctx);
        return 1;
    };
    call.read_results = [&decision](lua_State* L) { decision = read_challenge_decision(L, -2); };
    run(call);
    return decision;
}

void LuaPolicyEngine::notify(const PolicyResult& result) {
    if (!has_hook("notify")) return;
    HookCall call;
    call.hook = "notify";
    call.push_args = [&result](lua_State* L) {
        push_result(L, result);
        return 1;
    };
    call.read_results = [](lua_State*) {};
    run(call);
}

}  // namespace

std::unique_ptr<PolicyEngine> PolicyEngine::compile(const std::string& path, const PolicyLimits& limits) {
    std::string source = read_policy_file(path);
    CompileJob job{&path, &source, {}, {}};
    try {
        LuaState lua(limits);
        lua.call(compile_chunk, &job, "");
    } catch (const PolicyError& e) {
        throw compile_error(path, e.what());
    }
    return std::make_unique<LuaPolicyEngine>(path, std::move(job.bytecode), std::move(job.hooks), limits);
}

}  // namespace scepter
