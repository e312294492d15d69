// The C ABI the connectors call (see capi.h). Nothing throws across it.
#include "scepter/capi.h"

#include "scepter/log_ids.h"
#include "scepter/text.h"
#include "service/service.h"

#include <cstdio>
#include <cstring>
#include <new>

struct scepter_service {
    std::unique_ptr<scepter::Service> impl;
};

namespace {

// The C view of a response, owning the strings it points at.
struct ResponseBox {
    scepter_response c{};
    scepter::Response r;
    std::vector<std::string> texts;  // the log lines, made safe for the error log
    std::vector<scepter_log_record> records;
    std::vector<scepter_header> headers;  // pointing into r.headers
};

void write_error(char* err, size_t len, const char* text) noexcept {
    if (err != nullptr && len > 0) std::snprintf(err, len, "%s", text);
}

// Preallocated, so that even this failure reaches the error log.
scepter_log_record out_of_memory_log{SCEPTER_LOG_ERROR,
                                     SCEPTER_ID_INTERNAL_ERROR " the core could not build a response (out of memory)"};
scepter_response out_of_memory{500, nullptr, nullptr, 0, &out_of_memory_log, 1, nullptr, 0};

std::string str(const scepter_str& s) { return s.data ? std::string(s.data, s.len) : std::string(); }

scepter_response* box(scepter::Response&& r) {
    auto* b = new ResponseBox;
    b->r = std::move(r);
    // Every line the connectors write passes here: one place keeps what a
    // client sent from forging error-log lines (neither nginx nor Apache
    // escapes a message's control characters).
    b->texts.reserve(b->r.logs.size());
    for (const auto& l : b->r.logs) b->texts.push_back(scepter::log_safe(l.text));
    for (std::size_t i = 0; i < b->texts.size(); ++i) b->records.push_back({b->r.logs[i].level, b->texts[i].c_str()});
    b->c.status = b->r.status;
    b->c.content_type = b->r.content_type.empty() ? nullptr : b->r.content_type.c_str();
    b->c.body = b->r.body.data();
    b->c.body_len = b->r.body.size();
    b->c.logs = b->records.data();
    b->c.log_count = b->records.size();
    for (const auto& [name, value] : b->r.headers) b->headers.push_back({name.c_str(), value.c_str()});
    b->c.headers = b->headers.data();
    b->c.header_count = b->headers.size();
    return &b->c;
}

}  // namespace

extern "C" {

scepter_service* scepter_service_load(const char* yaml_path, char* err, size_t err_len) {
    try {
        auto svc = std::make_unique<scepter_service>();
        svc->impl = scepter::Service::load(yaml_path);
        return svc.release();
    } catch (const std::exception& e) {
        write_error(err, err_len, e.what());
    } catch (...) {
        write_error(err, err_len, "unknown error while loading the configuration");
    }
    return nullptr;
}

int scepter_service_check_profile(const scepter_service* svc, const char* profile, char* err, size_t err_len) {
    std::string name = profile && *profile ? profile : "default";
    try {
        if (svc->impl->has_profile(name)) return 1;
        write_error(err, err_len, (svc->impl->config().path + ": no profile '" + name + "' is defined").c_str());
    } catch (...) {
        write_error(err, err_len, "cannot check the profile");
    }
    return 0;
}

size_t scepter_service_warning_count(const scepter_service* svc) noexcept { return svc->impl->load_warnings().size(); }

const char* scepter_service_warning(const scepter_service* svc, size_t i) noexcept {
    const auto& warnings = svc->impl->load_warnings();
    return i < warnings.size() ? warnings[i].c_str() : "";
}

size_t scepter_service_max_body(const scepter_service* svc) noexcept {
    return svc->impl->config().max_message_bytes;
}

int scepter_service_check_worker_user(const scepter_service* svc, const char* user, unsigned long uid,
                                      unsigned long gid, char* err, size_t err_len) {
    try {
        svc->impl->check_worker_user(user ? user : "", uid, gid);
        return 1;
    } catch (const std::exception& e) {
        write_error(err, err_len, e.what());
    } catch (...) {
        write_error(err, err_len, "cannot check the worker user's access");
    }
    return 0;
}

int scepter_service_check_ca_key(const scepter_service* svc, char* err, size_t err_len) noexcept {
    try {
        svc->impl->check_ca_key();
        return 1;
    } catch (const std::exception& e) {
        write_error(err, err_len, e.what());
    } catch (...) {
        write_error(err, err_len, "cannot check the CA key");
    }
    return 0;
}

int scepter_service_worker_init(scepter_service* svc, char* err, size_t err_len) {
    try {
        svc->impl->worker_init();
        return 0;
    } catch (const std::exception& e) {
        write_error(err, err_len, e.what());
    } catch (...) {
        write_error(err, err_len, "unknown error in worker start-up");
    }
    return -1;
}

int scepter_service_start_background(scepter_service* svc, scepter_log_sink sink, void* ctx, char* err,
                                     size_t err_len) noexcept {
    try {
        svc->impl->start_background_tasks([sink, ctx](const scepter::LogLine& line) {
            if (!sink) return;
            const std::string text = scepter::log_safe(line.text);  // as every response's records
            scepter_log_record record{line.level, text.c_str()};
            sink(ctx, &record);
        });
        return 0;
    } catch (const std::exception& e) {
        write_error(err, err_len, e.what());
    } catch (...) {
        write_error(err, err_len, "unknown error while starting the background tasks");
    }
    return -1;
}

void scepter_service_stop_background(scepter_service* svc) noexcept { svc->impl->stop_background_tasks(); }

const char* scepter_service_audit_log(const scepter_service* svc) noexcept {
    return svc->impl->audit_log_path().c_str();
}

int scepter_service_reopen_audit_log(scepter_service* svc, char* err, size_t err_len) {
    try {
        std::string why = svc->impl->reopen_audit_log();
        if (why.empty()) return 0;
        write_error(err, err_len, why.c_str());
    } catch (...) {
        write_error(err, err_len, "cannot reopen the audit log");
    }
    return -1;
}

size_t scepter_metrics_size(void) noexcept { return sizeof(scepter::metrics::Block); }

int scepter_service_attach_metrics(scepter_service* svc, void* mem, size_t len, char* err, size_t err_len) noexcept {
    if (svc->impl->attach_metrics(mem, len)) return 1;
    write_error(err, err_len, "the shared metrics memory is too small or misaligned");
    return 0;
}

void scepter_service_free(scepter_service* svc) { delete svc; }

scepter_response* scepter_handle(scepter_service* svc, const scepter_request* req, int allow_blocking) {
    try {
        scepter::Request r{str(req->method), str(req->path), str(req->query), str(req->content_type), str(req->client_ip),
                           str(req->user_agent), str(req->profile), str(req->route), str(req->remote_user),
                           str(req->client_cert), req->body, req->body_len};
        auto resp = svc->impl->handle(r, allow_blocking != 0);
        if (!resp) return nullptr;
        return box(std::move(*resp));
    } catch (...) {
        // Only allocation can fail here: answer with a preallocated 500.
        return &out_of_memory;
    }
}

void scepter_response_free(scepter_response* resp) {
    if (resp == nullptr || resp == &out_of_memory) return;
    // c is the first member: the box starts where the C view starts.
    delete reinterpret_cast<ResponseBox*>(resp);
}

const char* scepter_version(void) { return SCEPTER_VERSION; }

}  // extern "C"
