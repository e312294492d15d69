// The one file that calls OpenSSL's ENGINE API. OpenSSL 3 marks ENGINE
// deprecated; Debian's PKCS#11 support for OpenSSL 3 (libp11) is an engine,
// so the deprecation warnings are silenced here and nowhere else.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "ca/token_key.h"

#include "scepter/openssl_error.h"

#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/ui.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace scepter {
namespace {

std::mutex engine_mutex;
ENGINE* engine = nullptr;  // this process's pkcs11 engine, initialised with engine_module
std::string engine_module;
int keys_loaded = 0;  // keys the engine handed out in this process

constexpr int kAttempts = 3;
constexpr std::chrono::milliseconds kAttemptPause{200};

// name: the configuration key the token key is (ca.key, ra.signing.key, ...).
[[noreturn]] void fail(const std::string& name, const std::string& why) {
    std::string detail = drain_openssl_errors();
    std::string text = name + " (pkcs11): " + why + (detail.empty() ? "" : ": " + detail);
    // libp11 names the PKCS#11 return code: CKR_PIN_INCORRECT is "PIN incorrect", and so on.
    if (detail.find("PIN") != std::string::npos) throw TokenPinError(text);
    throw std::runtime_error(text);
}

// A server has no terminal: libp11 asks its UI for a PIN it lacks (or when
// the PIN is wrong); this UI answers no, so the load fails instead of
// waiting on a prompt.
UI_METHOD* no_prompt() {
    static UI_METHOD* method = [] {
        UI_METHOD* m = UI_create_method("scepter: no PIN prompt");
        if (m) UI_method_set_reader(m, [](UI*, UI_STRING*) { return 0; });
        return m;
    }();
    return method;
}

ENGINE* pkcs11_engine(const std::string& name, const std::string& module) {
    if (engine) return engine;
    clear_openssl_errors();
    ENGINE* e = ENGINE_by_id("pkcs11");
    if (!e) fail(name, "OpenSSL's pkcs11 engine cannot be loaded (is libengine-pkcs11-openssl installed?)");
    // libp11 keeps its RSA and EC methods in statics of the engine's shared
    // object and never frees them: once OpenSSL's exit-time cleanup frees the
    // engine and unloads the object, they are unreachable (a leak report in
    // every process that ever loaded it). One reference for the process's
    // life keeps the object loaded and its statics reachable.
    static ENGINE* const keeps_module_loaded = ENGINE_up_ref(e) == 1 ? e : nullptr;
    (void)keeps_module_loaded;
    if (ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module.c_str(), 0) != 1 || ENGINE_init(e) != 1) {
        ENGINE_free(e);
        fail(name, "the PKCS#11 module '" + module + "' cannot be initialised");
    }
    engine = e;  // kept (structural and functional reference) while keys it made may be in use
    engine_module = module;
    return e;
}

std::string read_pin(const std::string& name, const std::string& path) {
    std::ifstream in(path);
    std::string pin;
    if (!in || !std::getline(in, pin)) fail(name, "cannot read the PIN from ca.key_pin_file '" + path + "'");
    if (!pin.empty() && pin.back() == '\r') pin.pop_back();
    if (pin.empty()) fail(name, "the first line of ca.key_pin_file '" + path + "' is empty");
    return pin;
}

// libp11 lists the slots once per engine initialisation: a token missed then
// (being rewritten by another process, replugged, its HSM restarting) stays
// missed. After a failure the engine is let go, so the next try lists anew,
// but only while it has handed out no key: its keys need the module loaded
// (a worker serving several configurations may hold one already).
void drop_engine() noexcept {
    if (!engine || keys_loaded > 0) return;
    ENGINE_finish(engine);
    ENGINE_free(engine);
    engine = nullptr;
    engine_module.clear();
}

ossl::PKey load_once(const TokenKeySettings& settings) {
    const std::string& name = settings.config_key;
    std::string pin = read_pin(name, settings.pin_file);
    ENGINE* e = pkcs11_engine(name, settings.module);
    int pin_set = ENGINE_ctrl_cmd_string(e, "PIN", pin.c_str(), 0);
    OPENSSL_cleanse(pin.data(), pin.size());
    if (pin_set != 1) fail(name, "the engine refused the PIN");
    ossl::PKey key(ENGINE_load_private_key(e, settings.uri.c_str(), no_prompt(), nullptr));
    if (!key)
        fail(name, "no private key '" + settings.uri + "' could be used with the PIN of '" + settings.pin_file +
             "' (a wrong PIN, a token or object that does not exist, or a key that is not private)");
    return key;
}

}  // namespace

ossl::PKey load_token_key(const TokenKeySettings& settings) {
    std::lock_guard<std::mutex> lock(engine_mutex);
    if (engine && settings.module != engine_module)  // libp11 takes one module per engine
        throw std::runtime_error(settings.config_key + " (pkcs11): this process already uses the module '" + engine_module +
                                 "', not '" + settings.module + "'");
    for (int attempt = 1;; ++attempt) {
        try {
            ossl::PKey key = load_once(settings);
            ++keys_loaded;
            return key;
        } catch (const TokenPinError&) {
            throw;
        } catch (const std::runtime_error&) {
            drop_engine();
            if (attempt == kAttempts) throw;
        }
        std::this_thread::sleep_for(kAttemptPause);
    }
}

}  // namespace scepter
