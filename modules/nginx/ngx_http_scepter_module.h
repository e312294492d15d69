/*
 * Shared between the directive/configuration half of the nginx connector
 * (ngx_http_scepter_module.c) and its request path (ngx_http_scepter_handler.c,
 * ngx_http_scepter_response.c).
 * Plain C: nginx's headers do not compile as C++.
 */
#ifndef NGX_HTTP_SCEPTER_MODULE_H
#define NGX_HTTP_SCEPTER_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <scepter/capi.h>
#include <scepter/log_ids.h>

#if !(NGX_THREADS)
#error "the scepter module needs nginx built --with-threads (slow SCEP work runs in a thread pool)"
#endif

#include <ngx_thread_pool.h>

#define NGX_HTTP_SCEPTER_ERR_LEN  1024

/* What a location serves (ngx_http_scepter_directives.c). */
typedef struct {
    ngx_str_t   name;         /* the core's route: "" SCEP, "admin", "ocsp", ... */
    ngx_flag_t  has_profile;  /* the location answers for one profile */
    ngx_flag_t  raw_path;     /* the core reads the path as sent, undecoded */
} ngx_http_scepter_route_t;

/* One loaded scepter.yaml, shared by every location naming the same path. */
typedef struct {
    ngx_str_t         path;
    scepter_service  *service;
} ngx_http_scepter_service_entry_t;

typedef struct {
    ngx_array_t      services;     /* of ngx_http_scepter_service_entry_t */
    ngx_shm_zone_t  *metrics_zone; /* NULL while no configuration is loaded */
} ngx_http_scepter_main_conf_t;

typedef struct {
    scepter_service     *service;     /* from scepter_config, inherited */
    ngx_thread_pool_t   *thread_pool; /* from scepter_thread_pool, inherited */
    ngx_str_t            profile;     /* NUL-terminated; empty = "default" */
    ngx_http_scepter_route_t *route;  /* set by the directive that enables it */
    ngx_flag_t           enabled;     /* `scepter` appears in this location */
    off_t                max_body;    /* the core's body limit (enabled locations) */
    ngx_str_t            file;        /* where `scepter` appears, for merge-time errors */
    ngx_uint_t           line;
} ngx_http_scepter_loc_conf_t;

extern ngx_module_t  ngx_http_scepter_module;

/* The directives (ngx_http_scepter_directives.c). */
extern ngx_command_t  ngx_http_scepter_commands[];

/* At merge, for a location where a scepter directive appears: its
 * configuration exists and knows its profile; the core's body limit. */
char *ngx_http_scepter_check_location(ngx_conf_t *cf,
    ngx_http_scepter_loc_conf_t *slcf);
void ngx_http_scepter_take_body_limit(ngx_conf_t *cf,
    ngx_http_scepter_loc_conf_t *slcf);

/* The configuration at path (NUL-terminated), loaded once per cycle
 * (ngx_http_scepter_service.c); NULL, with the reason logged, if it cannot be. */
scepter_service *ngx_http_scepter_service_get(ngx_conf_t *cf, ngx_str_t *path);

/* The content handler `scepter` installs (ngx_http_scepter_handler.c). */
ngx_int_t ngx_http_scepter_handler(ngx_http_request_t *r);

/* Logs, copies and frees the core's response, then sends the copy
 * (ngx_http_scepter_response.c). */
ngx_int_t ngx_http_scepter_send(ngx_http_request_t *r, scepter_response *resp);

/* nginx's level for a core log record's (ngx_http_scepter_response.c). */
ngx_uint_t ngx_http_scepter_log_level(scepter_log_level level);

/* Postconfiguration: installs the request body filter that holds bodies of
 * scepter requests to the core's limit while they are read. */
ngx_int_t ngx_http_scepter_body_filter_init(ngx_conf_t *cf);

/* The metrics' shared zone (ngx_http_scepter_metrics.c): added at the end
 * of the http block, handed to each loaded configuration in init_module. */
ngx_int_t ngx_http_scepter_metrics_zone_add(ngx_conf_t *cf,
    ngx_shm_zone_t **zone);
ngx_int_t ngx_http_scepter_metrics_attach(ngx_cycle_t *cycle,
    ngx_shm_zone_t *zone, scepter_service *svc, ngx_str_t *path);

#endif /* NGX_HTTP_SCEPTER_MODULE_H */
