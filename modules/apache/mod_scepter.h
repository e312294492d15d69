/*
 * Shared between the configuration half of the Apache connector
 * (mod_scepter.c) and its request path (mod_scepter_handler.c).
 * Plain C, like httpd itself.
 */
#ifndef MOD_SCEPTER_H
#define MOD_SCEPTER_H

#include <httpd.h>
#include <http_config.h>

#include <scepter/capi.h>
#include <scepter/log_ids.h>

/* What `SetHandler scepter` dispatches on. */
#define SCEPTER_HANDLER_NAME  "scepter"
/* The challenge API (JSON) and NDES's mscep_admin page. */
#define SCEPTER_ADMIN_HANDLER_NAME        "scepter-admin"
#define SCEPTER_MSCEP_ADMIN_HANDLER_NAME  "scepter-mscep-admin"
#define SCEPTER_ENROLLMENTS_HANDLER_NAME  "scepter-enrollments"
/* The Prometheus metrics. */
#define SCEPTER_METRICS_HANDLER_NAME      "scepter-metrics"
/* The CA's OCSP responder. */
#define SCEPTER_OCSP_HANDLER_NAME         "scepter-ocsp"

/* Room for the core's one-line messages ("FILE:LINE: key 'x': why"). */
#define SCEPTER_ERR_LEN       1024

/*
 * Per-directory configuration (server level, <VirtualHost>, <Location>,
 * <Directory>). NULL means "not set here": inherit from the enclosing level.
 */
typedef struct {
    scepter_service  *service;      /* from ScepterConfig, owned by pconf */
    const char       *config_path;  /* the file it was loaded from */
    const char       *profile;      /* from ScepterProfile; "" = "default" */
} scepter_dir_conf;

extern module AP_MODULE_DECLARE_DATA scepter_module;

/* The content handler (mod_scepter_handler.c). */
int scepter_handler(request_rec *r);

/* Apache's level for a core log record's (mod_scepter_handler.c). */
int scepter_ap_log_level(scepter_log_level level);

/* The metrics' shared memory, made once by the parent and kept across
 * restarts (mod_scepter_metrics.c); NULL when it cannot be had (logged). */
void *scepter_metrics_memory(server_rec *s);

#endif /* MOD_SCEPTER_H */
