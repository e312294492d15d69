/*
 * nginx connector for Scepter: the module, its configuration's life and the
 * process hooks. The directives live in ngx_http_scepter_directives.c, the
 * loaded configurations in ngx_http_scepter_service.c, the request path in
 * ngx_http_scepter_handler.c.
 *
 * Everything that can be wrong in scepter.yaml is found while the directive is
 * parsed, so `nginx -t` reports it. Each loaded configuration belongs to the
 * cycle's pool and dies with it: during a reload the old and the new
 * generation coexist, and old workers drain on the old one.
 */
#include "ngx_http_scepter_module.h"

static void *ngx_http_scepter_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_scepter_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_scepter_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_scepter_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_scepter_check_worker_user(ngx_conf_t *cf);
static ngx_int_t ngx_http_scepter_check_ca_key(ngx_conf_t *cf);
static ngx_int_t ngx_http_scepter_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_scepter_init_process(ngx_cycle_t *cycle);
static void ngx_http_scepter_exit_process(ngx_cycle_t *cycle);


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
    ngx_http_scepter_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


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

    if (ngx_http_scepter_check_worker_user(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_scepter_check_ca_key(cf);
}


/*
 * `nginx -t` only: a CA key in a PKCS#11 token is loaded and checked here,
 * in a process that exits. A master that goes on to fork workers never
 * opens the token (a PKCS#11 session does not survive fork); each worker
 * loads the key itself.
 */
static ngx_int_t
ngx_http_scepter_check_ca_key(ngx_conf_t *cf)
{
    char                               err[NGX_HTTP_SCEPTER_ERR_LEN];
    ngx_uint_t                         i;
    ngx_http_scepter_main_conf_t      *smcf;
    ngx_http_scepter_service_entry_t  *entry;

    if (!ngx_test_config) {
        return NGX_OK;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_scepter_module);
    entry = smcf->services.elts;

    for (i = 0; i < smcf->services.nelts; i++) {
        err[0] = '\0';
        if (!scepter_service_check_ca_key(entry[i].service, err, sizeof(err))) {
            err[sizeof(err) - 1] = '\0';
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          SCEPTER_ID_CONFIG_INVALID " scepter_config: %s", err);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
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
 * The log of the core's background threads (the Intune revocation sync):
 * the worker's error log, written as nginx's own thread pool writes it.
 */
static void
ngx_http_scepter_background_log(void *ctx, const scepter_log_record *rec)
{
    ngx_cycle_t  *cycle = ctx;

    if (rec->text != NULL) {
        ngx_log_error(ngx_http_scepter_log_level(rec->level), cycle->log, 0,
                      "%s", rec->text);
    }
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

        err[0] = '\0';
        if (scepter_service_start_background(entry[i].service,
                                             ngx_http_scepter_background_log,
                                             cycle, err, sizeof(err))
            != 0)
        {
            err[sizeof(err) - 1] = '\0';
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          SCEPTER_ID_WORKER_INIT_FAILED " scepter_config "
                          "\"%V\": %s", &entry[i].path, err);
        }
    }

    return NGX_OK;
}


/*
 * The background threads stop before the worker's cycle (and its log) goes
 * away: after this, the pool cleanup frees the services.
 */
static void
ngx_http_scepter_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                         i;
    ngx_http_scepter_main_conf_t      *smcf;
    ngx_http_scepter_service_entry_t  *entry;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_scepter_module);
    if (smcf == NULL) {
        return;
    }

    entry = smcf->services.elts;

    for (i = 0; i < smcf->services.nelts; i++) {
        scepter_service_stop_background(entry[i].service);
    }
}
