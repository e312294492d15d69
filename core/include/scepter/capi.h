/*
 * The C boundary between the web-server connectors and the core.
 *
 * The connectors are plain C (nginx and httpd headers do not compile as C++),
 * so the core offers this small C ABI. Every function is noexcept on the C++
 * side: failures come back as error strings or as a response, never as an
 * exception crossing into server frames.
 *
 * Life cycle, the same on every server:
 *   1. configuration time (nginx master / `nginx -t`, httpd parent / configtest):
 *        scepter_service_load() parses the YAML, loads keys and templates and
 *        precomputes the GetCACert/GetCACaps answers. No threads, no database
 *        handles, nothing per-process is created here.
 *   2. in each worker/child after fork: scepter_service_worker_init().
 *      Then scepter_service_start_background(), and at the worker's exit
 *      scepter_service_stop_background().
 *   3. per HTTP request: scepter_handle(). With allow_blocking = 0 it answers
 *      only what is cheap (GetCACaps, GetCACert, errors) and returns NULL when
 *      the request needs slow work (RSA, store writes); the connector then
 *      calls it again with allow_blocking = 1 from a worker thread.
 *   4. scepter_service_free() when the configuration generation is dropped.
 */
#ifndef SCEPTER_CAPI_H
#define SCEPTER_CAPI_H

#include "scepter/log_level.h"

#include <stddef.h>

#ifdef __cplusplus
#define SCEPTER_NOEXCEPT noexcept
extern "C" {
#else
#define SCEPTER_NOEXCEPT
#endif

typedef struct scepter_service scepter_service;

typedef struct {
    const char *data;
    size_t len;
} scepter_str;

typedef struct {
    scepter_str method;       /* "GET", "POST", ... */
    scepter_str path;         /* the URI path, without the query ("/scep/ca.crl") */
    scepter_str query;        /* raw query string, still percent-encoded, no '?' */
    scepter_str content_type; /* may be empty */
    scepter_str client_ip;
    scepter_str user_agent;   /* may be empty */
    scepter_str profile;      /* the location's profile name; empty = "default" */
    scepter_str route;        /* "" SCEP; "admin" the JSON challenge API; "mscep_admin" NDES's page;
                                 "enrollments" the enrollments page; "metrics" the Prometheus
                                 metrics; "ocsp" the OCSP responder, whose path is the raw one the
                                 client sent (still percent-encoded, slashes unmerged) */
    scepter_str remote_user;  /* the user the web server authenticated (basic auth); empty: none */
    scepter_str client_cert;  /* subject of a client certificate the server verified; empty: none */
    const unsigned char *body;
    size_t body_len;
} scepter_request;

typedef struct {
    scepter_log_level level;
    const char *text; /* NUL-terminated, starts with the stable message ID */
} scepter_log_record;

typedef struct {
    const char *name;  /* NUL-terminated */
    const char *value;
} scepter_header;

typedef struct {
    int status;                /* HTTP status */
    const char *content_type;  /* NUL-terminated; may be NULL for no body */
    const unsigned char *body;
    size_t body_len;
    const scepter_log_record *logs; /* to be written to the server error log */
    size_t log_count;
    const scepter_header *headers; /* more response headers (OCSP's caching headers) */
    size_t header_count;
} scepter_response;

/* Loads a configuration generation. Returns NULL and writes a one-line
 * message ("FILE:LINE: key 'x': why") into err on failure. */
scepter_service *scepter_service_load(const char *yaml_path, char *err, size_t err_len);

/* Returns 1 if the configuration defines the profile, else 0 and a message. */
int scepter_service_check_profile(const scepter_service *svc, const char *profile, char *err,
                                  size_t err_len);

/* The largest request body, in bytes, the core accepts on any route
 * (limits.max_message_bytes). The connectors enforce it while reading: a
 * Content-Length above it, or a chunked body whose running total passes it,
 * gets 413 at once, so a too large body is never buffered whole. A GET
 * `message` is held to the same limit once decoded. Cheap: a field read. */
size_t scepter_service_max_body(const scepter_service *svc) SCEPTER_NOEXCEPT;

/* Configuration time, once the server knows the user its workers will run
 * as (nginx's `user`, Apache's User/Group), when that is not the current
 * user: checks that this user can write the store's directory and
 * status_dir. Judged from owner, group and mode bits (a path with an ACL
 * passes; the worker checks again as itself). Returns 1 when fine, else 0
 * and a message ("FILE:LINE: key 'x': why") in err. */
int scepter_service_check_worker_user(const scepter_service *svc, const char *user, unsigned long uid,
                                      unsigned long gid, char *err, size_t err_len);

/* A configuration check (`nginx -t`, `apachectl configtest`, `scepter config
 * check`) in a process that exits afterwards: for each key in a PKCS#11
 * token (ca.key, and RA keys there), loads the engine, logs in with the PIN
 * file's PIN, finds the key and checks it against its certificate (ca.cert,
 * ra.signing.cert, ...). Never call it in nginx's master or Apache's
 * parent that go on to fork workers: a PKCS#11 session does not survive
 * fork. Returns 1 when fine (or nothing to check), else 0 and the reason in
 * err (never the PIN). */
int scepter_service_check_ca_key(const scepter_service *svc, char *err, size_t err_len) SCEPTER_NOEXCEPT;

/* What loading found worth a warning but not a refusal: today, CA and RA
 * certificates that expire within 30 days or have expired. The connectors
 * log each with SCEPTER_ID_CERT_EXPIRING wherever they announce a loaded
 * generation (start, reload) and at configtest. Valid as long as svc. */
size_t scepter_service_warning_count(const scepter_service *svc) SCEPTER_NOEXCEPT;
const char *scepter_service_warning(const scepter_service *svc, size_t i) SCEPTER_NOEXCEPT;

/* Per-process start-up, called after fork in every worker/child: builds
 * everything the profiles need. Returns 0 on success, -1 with a message in
 * err. After a failure the worker must keep running: the core then refuses
 * every request that needs those resources (a CertRep FAILURE or HTTP 503,
 * logged with SCP1004), never issues, and tries the start-up again later. */
int scepter_service_worker_init(scepter_service *svc, char *err, size_t err_len);

/* Receives the log lines of the core's background threads. Called from
 * those threads: it must be safe to call from a thread that is not the
 * server's own (nginx's ngx_log_error, as nginx's thread pool uses it;
 * Apache's ap_log_error). */
typedef void (*scepter_log_sink)(void *ctx, const scepter_log_record *record);

/* In each worker/child, after scepter_service_worker_init (whatever it
 * returned): starts the core's background tasks on threads of their own,
 * today the Intune revocation sync of every profile whose intune block
 * polls (one worker of the whole fleet polls at a time: a leader lease in
 * the store decides). Their log lines go to sink(ctx, record). Never in
 * nginx's master or Apache's parent. Returns 0, or -1 with a message. */
int scepter_service_start_background(scepter_service *svc, scepter_log_sink sink, void *ctx, char *err,
                                     size_t err_len) SCEPTER_NOEXCEPT;

/* At the worker's/child's exit: stops those threads and waits for them (at
 * most an Intune call's timeout_ms). scepter_service_free does it too. */
void scepter_service_stop_background(scepter_service *svc) SCEPTER_NOEXCEPT;

/* The audit trail's file (audit_log in the YAML), absolute; "" when the
 * audit lines go to the error log. Valid as long as svc. */
const char *scepter_service_audit_log(const scepter_service *svc) SCEPTER_NOEXCEPT;

/* Opens the audit trail's file again by its name, creating it when
 * logrotate moved it away (rename, then signal): nginx calls it on `nginx
 * -s reopen`, in the master and in every worker. Apache needs no call: a
 * graceful restart loads a new generation, which opens the file afresh.
 * Returns 0, or -1 with a message (lines then go on to the old file). */
int scepter_service_reopen_audit_log(scepter_service *svc, char *err, size_t err_len);

/* Metrics (docs/METRICS.md). The counters live in one block of shared
 * memory that the connector provides, shared by every worker and kept
 * across reloads (nginx: a shared zone; Apache: memory kept by the parent
 * across graceful restarts); the core lays it out and counts in it with
 * lock-free atomics. scepter_metrics_size() is the block's size: a connector
 * whose memory has that size and the same layout keeps the counts. */
size_t scepter_metrics_size(void) SCEPTER_NOEXCEPT;

/* Configuration time, in the master/parent, once the shared memory exists
 * and before the workers fork: hands it to svc. Memory that already holds a
 * block of this layout keeps its counts (reload, graceful restart); anything
 * else is formatted. Several services may share one block. Returns 1, or 0
 * with a message in err (too small, misaligned). */
int scepter_service_attach_metrics(scepter_service *svc, void *mem, size_t len, char *err,
                                   size_t err_len) SCEPTER_NOEXCEPT;

/* Releases everything the generation holds (per-process resources included). */
void scepter_service_free(scepter_service *svc);

/* One entry point per HTTP request. Thread-safe. See the header comment for
 * allow_blocking. The response is owned by the caller. */
scepter_response *scepter_handle(scepter_service *svc, const scepter_request *req,
                                 int allow_blocking);

void scepter_response_free(scepter_response *resp);

/* The core's version string, for the server's start-up log line. */
const char *scepter_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SCEPTER_CAPI_H */
