/*
 * nginx connector for Scepter: directives, configuration and process hooks.
 * The request path lives in ngx_http_scepter_handler.c.
 *
 *   scepter_config /etc/scepter/scepter.yaml;   http, server, location
 *   scepter [profile];                          location: serve SCEP here
 *   scepter_ocsp;                               location: the CA's OCSP responder
 *   scepter_thread_pool name;                   http, server, location
 *   scepter_admin / scepter_mscep_admin / scepter_enrollments [profile];
 *                                               location: an admin face
 *   scepter_metrics;                            location: Prometheus metrics
 *
 * Everything that can be wrong in scepter.yaml is found while the directive is
 * parsed, so `nginx -t` reports it. Each loaded configuration belongs to the
 * cycle's pool and dies with it: during a reload the old and the new
 * generation coexist, and old workers drain on the old one.
 */
#include "ngx_http_scepter_module.h"

#define NGX_HTTP_SCEPTER_ERR_LEN  1024

/* One loaded scepter.yaml, shared by every location naming the same path. */
typedef struct {
    ngx_str_t         path;
    scepter_service  *service;
} ngx_http_scepter_service_entry_t;

typedef struct {
    ngx_array_t      services;     /* of ngx_http_scepter_service_entry_t */
    ngx_shm_zone_t  *metrics_zone; /* NULL while no configuration is loaded */
} ngx_http_scepter_main_conf_t;

static char *ngx_http_scepter_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_scepter(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_scepter_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_scepter_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_scepter_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_scepter_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_scepter_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_scepter_check_worker_user(ngx_conf_t *cf);
static ngx_int_t ngx_http_scepter_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_scepter_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_scepter_watch_audit_log(ngx_conf_t *cf,
    ngx_http_scepter_main_conf_t *smcf, scepter_service *svc);
static void ngx_http_scepter_reopen_audit_logs(ngx_open_file_t *file,
    ngx_log_t *log);


static ngx_str_t  ngx_http_scepter_route_admin = ngx_string("admin");
static ngx_str_t  ngx_http_scepter_route_mscep_admin = ngx_string("mscep_admin");
static ngx_str_t  ngx_http_scepter_route_enrollments = ngx_string("enrollments");
static ngx_str_t  ngx_http_scepter_route_metrics = ngx_string("metrics");
static ngx_str_t  ngx_http_scepter_route_ocsp = ngx_string("ocsp");


static ngx_command_t  ngx_http_scepter_commands[] = {

    { ngx_string("scepter_config"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_scepter_config,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("scepter"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_scepter,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    /* The challenge API (JSON) and NDES's mscep_admin page: the same
     * handler, the core told which face to show. */
    { ngx_string("scepter_admin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_scepter,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_scepter_route_admin },

    { ngx_string("scepter_mscep_admin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_scepter,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_scepter_route_mscep_admin },

    /* The enrollments page (HTML, read from the audit trail). */
    { ngx_string("scepter_enrollments"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_scepter,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_scepter_route_enrollments },

    /* The Prometheus metrics of every profile: the same handler again,
     * under the admin faces' access rule. */
    { ngx_string("scepter_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_scepter,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_scepter_route_metrics },

    /* The CA's OCSP responder: GET (the request's base64 after the
     * location's path) and POST. It answers for the CA, not a profile. */
    { ngx_string("scepter_ocsp"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_scepter,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      &ngx_http_scepter_route_ocsp },

    { ngx_string("scepter_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_scepter_thread_pool,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_scepter_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_scepter_postconfiguration,    /* postconfiguration */

    ngx_http_scepter_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_scepter_create_loc_conf,      /* create location configuration */
    ngx_http_scepter_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_scepter_module = {
    NGX_MODULE_V1,
    &ngx_http_scepter_module_ctx,          /* module context */
    ngx_http_scepter_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_scepter_init_module,          /* init module */
    ngx_http_scepter_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void
ngx_http_scepter_service_cleanup(void *data)
{
    scepter_service_free(data);
}


/* Loads path (NUL-terminated) and ties the result to this cycle's pool. */
static scepter_service *
ngx_http_scepter_service_load(ngx_conf_t *cf,
    ngx_http_scepter_main_conf_t *smcf, ngx_str_t *path)
{
    char                              err[NGX_HTTP_SCEPTER_ERR_LEN];
    scepter_service                  *svc;
    ngx_pool_cleanup_t               *cln;
    ngx_http_scepter_service_entry_t *entry;

    /* Allocated first, so a loaded service can never be left without it. */
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    err[0] = '\0';
    svc = scepter_service_load((const char *) path->data, err, sizeof(err));
    if (svc == NULL) {
        err[sizeof(err) - 1] = '\0';
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           SCEPTER_ID_CONFIG_INVALID " scepter_config: %s",
                           err[0] ? err : "cannot be loaded");
        return NULL;
    }

    cln->handler = ngx_http_scepter_service_cleanup;
    cln->data = svc;

    entry = ngx_array_push(&smcf->services);
    if (entry == NULL) {
        return NULL;
    }

    entry->path = *path;
    entry->service = svc;

    if (ngx_http_scepter_watch_audit_log(cf, smcf, svc) != NGX_OK) {
        return NULL;
    }

    return svc;
}


/*
 * logrotate renames the audit trail, then runs `nginx -s reopen`. nginx
 * tells modules of a reopen only through its list of open files: before it
 * reopens one, it calls the file's flush handler, in the master (which
 * creates the new file and gives it to the workers' user, as for its own
 * logs) and then in every worker. So the audit trail's name is put on that
 * list, and its flush handler has the core open the file again. nginx's
 * own descriptor for it is never written.
 */
static ngx_int_t
ngx_http_scepter_watch_audit_log(ngx_conf_t *cf,
    ngx_http_scepter_main_conf_t *smcf, scepter_service *svc)
{
    size_t            len;
    ngx_str_t         name;
    const char       *path;
    ngx_open_file_t  *file;

    path = scepter_service_audit_log(svc);
    len = ngx_strlen(path);
    if (len == 0) {
        return NGX_OK;
    }

    name.len = len;
    name.data = ngx_pnalloc(cf->pool, len + 1);
    if (name.data == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(name.data, path, len + 1);

    file = ngx_conf_open_file(cf->cycle, &name);
    if (file == NULL) {
        return NGX_ERROR;
    }

    /* One handler reopens every service's trail: two configurations may
     * share a file, and an entry has room for one handler. */
    file->flush = ngx_http_scepter_reopen_audit_logs;
    file->data = smcf;

    return NGX_OK;
}


static void
ngx_http_scepter_reopen_audit_logs(ngx_open_file_t *file, ngx_log_t *log)
{
    char                               err[NGX_HTTP_SCEPTER_ERR_LEN];
    ngx_uint_t                         i;
    const char                        *path;
    ngx_http_scepter_main_conf_t      *smcf = file->data;
    ngx_http_scepter_service_entry_t  *entry;

    /* nginx calls the flush handlers on a worker's way out too, where
     * there is nothing to reopen. */
    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    entry = smcf->services.elts;

    for (i = 0; i < smcf->services.nelts; i++) {
        path = scepter_service_audit_log(entry[i].service);
        if (ngx_strlen(path) != file->name.len
            || ngx_strncmp(path, file->name.data, file->name.len) != 0)
        {
            continue;
        }

        err[0] = '\0';
        if (scepter_service_reopen_audit_log(entry[i].service, err,
                                             sizeof(err))
            != 0)
        {
            err[sizeof(err) - 1] = '\0';
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          SCEPTER_ID_AUDIT_REOPEN_FAILED " scepter_config "
                          "\"%V\": %s", &entry[i].path, err);
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      SCEPTER_ID_AUDIT_REOPENED " scepter_config \"%V\": "
                      "audit log %V reopened", &entry[i].path, &file->name);
    }
}


/* The same file named in several places is loaded once per cycle. */
static scepter_service *
ngx_http_scepter_service_get(ngx_conf_t *cf, ngx_str_t *path)
{
    ngx_uint_t                         i;
    ngx_http_scepter_main_conf_t      *smcf;
    ngx_http_scepter_service_entry_t  *entry;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_scepter_module);
    entry = smcf->services.elts;

    for (i = 0; i < smcf->services.nelts; i++) {
        if (entry[i].path.len == path->len
            && ngx_strncmp(entry[i].path.data, path->data, path->len) == 0)
        {
            return entry[i].service;
        }
    }

    return ngx_http_scepter_service_load(cf, smcf, path);
}


static char *
ngx_http_scepter_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_scepter_loc_conf_t *slcf = conf;

    ngx_str_t  *value, path;

    if (slcf->service != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    /*
     * Relative to the configuration directory, as nginx resolves
     * ssl_certificate. Both the parser's tokens and the joined name are
     * NUL-terminated, which scepter_service_load() relies on.
     */
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    slcf->service = ngx_http_scepter_service_get(cf, &path);

    return slcf->service ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static char *
ngx_http_scepter(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_scepter_loc_conf_t *slcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (slcf->enabled) {
        return "is duplicate";
    }

    slcf->enabled = 1;
    if (cmd->post != NULL) {
        slcf->route = *(ngx_str_t *) cmd->post;
    }

    /* Tokens from the parser are NUL-terminated, as the C API needs. */
    value = cf->args->elts;
    if (cf->args->nelts == 2) {
        slcf->profile = value[1];

    } else {
        ngx_str_set(&slcf->profile, "");
    }

    /* scepter_config may follow, or come from an outer level: the profile
     * is checked once the location is merged, reported at this line. */
    slcf->file = cf->conf_file->file.name;
    slcf->line = cf->conf_file->line;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_scepter_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_scepter_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_scepter_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->thread_pool != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    /* Registered now so that an undeclared name fails `nginx -t` with
     * "unknown thread pool" pointing at this line. */
    value = cf->args->elts;
    slcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);

    return slcf->thread_pool ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static void *
ngx_http_scepter_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_scepter_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_scepter_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&smcf->services, cf->pool, 2,
                       sizeof(ngx_http_scepter_service_entry_t))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static void *
ngx_http_scepter_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_scepter_loc_conf_t  *slcf;

    /* pcalloc: enabled = 0, profile and file empty */
    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_scepter_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    slcf->service = NGX_CONF_UNSET_PTR;
    slcf->thread_pool = NGX_CONF_UNSET_PTR;

    return slcf;
}


/* A `scepter` location needs a configuration that knows its profile. */
static char *
ngx_http_scepter_check_location(ngx_conf_t *cf,
    ngx_http_scepter_loc_conf_t *slcf)
{
    char  err[NGX_HTTP_SCEPTER_ERR_LEN];

    if (slcf->service == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      SCEPTER_ID_NGX_NO_CONFIG " \"scepter\" needs "
                      "\"scepter_config\" in its location or above "
                      "in %V:%ui", &slcf->file, slcf->line);
        return NGX_CONF_ERROR;
    }

    /* The metrics location serves every profile and names none; the OCSP
     * responder answers for the CA. */
    if ((slcf->route.len == ngx_http_scepter_route_metrics.len
         && ngx_strncmp(slcf->route.data, ngx_http_scepter_route_metrics.data,
                        slcf->route.len) == 0)
        || (slcf->route.len == ngx_http_scepter_route_ocsp.len
            && ngx_strncmp(slcf->route.data, ngx_http_scepter_route_ocsp.data,
                           slcf->route.len) == 0))
    {
        return NGX_CONF_OK;
    }

    err[0] = '\0';
    if (!scepter_service_check_profile(slcf->service,
                                       (const char *) slcf->profile.data,
                                       err, sizeof(err)))
    {
        err[sizeof(err) - 1] = '\0';
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      SCEPTER_ID_UNKNOWN_PROFILE " scepter \"%V\": %s in %V:%ui",
                      &slcf->profile, err, &slcf->file, slcf->line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The body limit of a scepter location is the core's (limits.max_message_bytes),
 * enforced by the handler (Content-Length) and the request body filter (the
 * running total, chunked or HTTP/2), which answer 413 as soon as it is
 * passed. nginx's client_max_body_size is switched off (0) here, whether
 * set by the admin or not: its 1m default would silently cap a larger
 * core limit, an explicit value can no longer be told from that default
 * once merged, and nginx answers it itself with an [error] line without a
 * Scepter ID for what is a client's mistake. So there is one limit, set in
 * one place, the same on Apache; a stricter one is set in the YAML.
 */
static void
ngx_http_scepter_take_body_limit(ngx_conf_t *cf,
    ngx_http_scepter_loc_conf_t *slcf)
{
    ngx_http_core_loc_conf_t  *clcf;

    /* during a merge, cf's context is the location being merged */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->client_max_body_size = 0;

    slcf->max_body = (off_t) scepter_service_max_body(slcf->service);
}


static char *
ngx_http_scepter_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_scepter_loc_conf_t *prev = parent;
    ngx_http_scepter_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->service, prev->service, NULL);
    ngx_conf_merge_ptr_value(conf->thread_pool, prev->thread_pool, NULL);

    /* `scepter` itself is not inherited: like any content handler, it
     * applies to its own location only. */
    if (!conf->enabled) {
        return NGX_CONF_OK;
    }

    /* The "default" pool exists even where the admin declared none:
     * nginx then gives it its default size. */
    if (conf->thread_pool == NULL) {
        conf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (conf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_scepter_check_location(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_http_scepter_take_body_limit(cf, conf);

    return NGX_CONF_OK;
}


/* The end of the http block: the body filter, then the workers' user. */
static ngx_int_t
ngx_http_scepter_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_scepter_main_conf_t  *smcf;

    if (ngx_http_scepter_body_filter_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    /* Counted whether or not a location shows them: the counts are exact
     * from the start, whenever a scepter_metrics location is added. */
    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_scepter_module);
    if (smcf->services.nelts > 0
        && ngx_http_scepter_metrics_zone_add(cf, &smcf->metrics_zone) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_scepter_check_worker_user(cf);
}


/*
 * Whether the user the workers will run as can write what they write (the
 * store, status_dir): checked here, at the end of the http block, where a
 * refusal fails `nginx -t` and a reload keeps the running generation (an
 * init_module failure would end the master). Only a master running as root
 * switches users; the core has checked for the current user already. A
 * `user` directive after the http block is not known yet: nginx's default
 * user is assumed then, and every worker checks again as itself.
 */
static ngx_int_t
ngx_http_scepter_check_worker_user(ngx_conf_t *cf)
{
    char                               err[NGX_HTTP_SCEPTER_ERR_LEN];
    const char                        *name;
    ngx_uint_t                         i;
    ngx_uid_t                          uid;
    ngx_gid_t                          gid;
    struct group                      *grp;
    struct passwd                     *pwd;
    ngx_core_conf_t                   *ccf;
    ngx_http_scepter_main_conf_t      *smcf;
    ngx_http_scepter_service_entry_t  *entry;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_scepter_module);
    if (geteuid() != 0 || smcf->services.nelts == 0) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);
    if (ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        name = ccf->username;
        uid = ccf->user;
        gid = ccf->group;

    } else {
        pwd = getpwnam(NGX_USER);
        grp = getgrnam(NGX_GROUP);
        if (pwd == NULL || grp == NULL) {
            return NGX_OK;  /* nginx itself will refuse to start */
        }
        name = NGX_USER;
        uid = pwd->pw_uid;
        gid = grp->gr_gid;
    }

    entry = smcf->services.elts;

    for (i = 0; i < smcf->services.nelts; i++) {
        err[0] = '\0';
        if (!scepter_service_check_worker_user(entry[i].service, name,
                                               (unsigned long) uid,
                                               (unsigned long) gid,
                                               err, sizeof(err)))
        {
            err[sizeof(err) - 1] = '\0';
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          SCEPTER_ID_CONFIG_INVALID " scepter_config: %s "
                          "(workers run as user \"%s\")", err, name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* Runs in the master (and for `nginx -t`) once the cycle is complete. */
static ngx_int_t
ngx_http_scepter_init_module(ngx_cycle_t *cycle)
{
    size_t                             n, w;
    ngx_uint_t                         i;
    ngx_http_scepter_main_conf_t      *smcf;
    ngx_http_scepter_service_entry_t  *entry;

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_scepter_module);
    if (smcf == NULL || smcf->services.nelts == 0) {
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  SCEPTER_ID_NGX_LOADED " scepter %s: %ui configuration(s) "
                  "loaded", scepter_version(), smcf->services.nelts);

    entry = smcf->services.elts;

    for (i = 0; i < smcf->services.nelts; i++) {
        (void) ngx_http_scepter_metrics_attach(cycle, smcf->metrics_zone,
                                               entry[i].service,
                                               &entry[i].path);

        n = scepter_service_warning_count(entry[i].service);

        for (w = 0; w < n; w++) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          SCEPTER_ID_CERT_EXPIRING " scepter_config %V: %s",
                          &entry[i].path,
                          scepter_service_warning(entry[i].service, w));
        }
    }

    return NGX_OK;
}


/*
 * Per-process resources (store handles, status records, validation clients)
 * are built after fork, in workers only: never in the master, nor in cache
 * manager/loader helpers.
 */
static ngx_int_t
ngx_http_scepter_init_process(ngx_cycle_t *cycle)
{
    char                               err[NGX_HTTP_SCEPTER_ERR_LEN];
    ngx_uint_t                         i;
    ngx_http_scepter_main_conf_t      *smcf;
    ngx_http_scepter_service_entry_t  *entry;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_scepter_module);
    if (smcf == NULL) {
        return NGX_OK;
    }

    entry = smcf->services.elts;

    for (i = 0; i < smcf->services.nelts; i++) {
        err[0] = '\0';
        if (scepter_service_worker_init(entry[i].service, err, sizeof(err))
            != 0)
        {
            err[sizeof(err) - 1] = '\0';
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          SCEPTER_ID_WORKER_INIT_FAILED " scepter_config "
                          "\"%V\": %s", &entry[i].path, err);
            /* Not fatal: a worker that exits leaves the master accepting
             * connections nobody answers. This one stays and the core
             * answers what needs the missing resources with a refusal
             * (SCP1004), trying the start-up again later. */
        }
    }

    return NGX_OK;
}
