/*
 * Apache httpd connector for Scepter: directives, configuration and process
 * hooks. The request path lives in mod_scepter_handler.c.
 *
 *   ScepterConfig /etc/scepter/scepter.yaml   server, vhost, <Location>, <Directory>
 *   ScepterProfile NAME                       same contexts; unset = "default"
 *   SetHandler scepter                        serve SCEP in this <Location>
 *   SetHandler scepter-metrics                the Prometheus metrics
 *   SetHandler scepter-ocsp                   the CA's OCSP responder (GET needs
 *                                             AllowEncodedSlashes NoDecode)
 *
 * A scepter.yaml is loaded while its directive is parsed, so configtest
 * (`apache2 -t`) reports every mistake in it with the core's "FILE:LINE: key"
 * message. Each loaded file belongs to the configuration pool (pconf): a
 * graceful restart clears pconf and so drops the old generation, while old
 * children, which have their own copy, drain on it.
 */
#include "mod_scepter.h"

#include <http_core.h>
#include <http_log.h>
#include <unixd.h>
#include <apr_strings.h>

#include <string.h>
#include <unistd.h>

/* The generation's bookkeeping hangs off pconf under this key: clearing
 * pconf (restart, graceful) forgets it together with the services. */
#define SCEPTER_GENERATION_KEY  "scepter-generation"

/* One loaded scepter.yaml, shared by every context naming the same path. */
typedef struct {
    const char       *path;
    scepter_service  *service;
} scepter_loaded;

/* A ScepterProfile whose context had no ScepterConfig of its own: checked in
 * check_config, once every directive (and virtual host merge) is known. */
typedef struct {
    scepter_dir_conf  *dir_conf;
    server_rec        *server;
    const char        *where;     /* "FILE:LINE" of the directive */
} scepter_profile_use;

typedef struct {
    apr_array_header_t  *services;      /* of scepter_loaded */
    apr_array_header_t  *profile_uses;  /* of scepter_profile_use */
} scepter_generation;

/* Per server; only the main server's copy is used, to reach the generation
 * from child_init, which gets no pconf. */
typedef struct {
    scepter_generation  *generation;
} scepter_server_conf;


/* ---- the configuration generation ---- */

static scepter_generation *scepter_generation_find(apr_pool_t *pconf)
{
    void *data = NULL;

    apr_pool_userdata_get(&data, SCEPTER_GENERATION_KEY, pconf);
    return data;
}

static scepter_generation *scepter_generation_get(apr_pool_t *pconf)
{
    scepter_generation *gen = scepter_generation_find(pconf);

    if (gen == NULL) {
        gen = apr_pcalloc(pconf, sizeof(*gen));
        gen->services = apr_array_make(pconf, 2, sizeof(scepter_loaded));
        gen->profile_uses = apr_array_make(pconf, 2, sizeof(scepter_profile_use));
        apr_pool_userdata_setn(gen, SCEPTER_GENERATION_KEY, NULL, pconf);
    }
    return gen;
}

static apr_status_t scepter_service_cleanup(void *data)
{
    scepter_service_free(data);
    return APR_SUCCESS;
}

/* Loads path into this generation; returns NULL or the directive's error. */
static const char *scepter_service_add(apr_pool_t *pconf, scepter_generation *gen,
                                       const char *path, scepter_service **out)
{
    char err[SCEPTER_ERR_LEN];
    scepter_loaded *entry;

    err[0] = '\0';
    *out = scepter_service_load(path, err, sizeof(err));
    if (*out == NULL) {
        err[sizeof(err) - 1] = '\0';
        return apr_psprintf(pconf, SCEPTER_ID_CONFIG_INVALID " ScepterConfig: %s",
                            err[0] ? err : "cannot be loaded");
    }

    /* No child cleanup: a forked CGI must not free what the parent owns. */
    apr_pool_cleanup_register(pconf, *out, scepter_service_cleanup,
                              apr_pool_cleanup_null);

    entry = apr_array_push(gen->services);
    entry->path = path;
    entry->service = *out;
    return NULL;
}

/* The same file named in several contexts is loaded once per generation. */
static const char *scepter_service_get(apr_pool_t *pconf, const char *path,
                                       scepter_service **out)
{
    scepter_generation *gen = scepter_generation_get(pconf);
    scepter_loaded *entry = (scepter_loaded *) gen->services->elts;
    int i;

    for (i = 0; i < gen->services->nelts; i++) {
        if (strcmp(entry[i].path, path) == 0) {
            *out = entry[i].service;
            return NULL;
        }
    }
    return scepter_service_add(pconf, gen, path, out);
}

/* NULL if svc defines profile, else the core's reason. */
static const char *scepter_profile_error(apr_pool_t *p, const scepter_service *svc,
                                         const char *profile)
{
    char err[SCEPTER_ERR_LEN];

    err[0] = '\0';
    if (scepter_service_check_profile(svc, profile, err, sizeof(err))) {
        return NULL;
    }
    err[sizeof(err) - 1] = '\0';
    return apr_pstrdup(p, err[0] ? err : "unknown profile");
}


/* ---- directives ---- */

static const char *scepter_cmd_config(cmd_parms *cmd, void *mconfig, const char *arg)
{
    scepter_dir_conf *dc = mconfig;
    const char *path, *err;

    if (dc->service != NULL) {
        return "ScepterConfig: given twice in the same context";
    }

    /* Relative names are relative to ServerRoot, as for SSLCertificateFile. */
    path = ap_server_root_relative(cmd->pool, arg);
    if (path == NULL) {
        return apr_pstrcat(cmd->pool, "ScepterConfig: invalid file name ", arg, NULL);
    }

    err = scepter_service_get(cmd->pool, path, &dc->service);
    if (err != NULL) {
        return err;
    }
    dc->config_path = path;

    /* ScepterProfile came first in this context: check it now, at its line. */
    if (dc->profile != NULL && (err = scepter_profile_error(cmd->pool, dc->service,
                                                            dc->profile)) != NULL) {
        return apr_pstrcat(cmd->pool, SCEPTER_ID_UNKNOWN_PROFILE " ScepterProfile ",
                           dc->profile, ": ", err, NULL);
    }
    return NULL;
}

static const char *scepter_cmd_profile(cmd_parms *cmd, void *mconfig, const char *arg)
{
    scepter_dir_conf *dc = mconfig;
    scepter_profile_use *use;
    const char *err;

    if (dc->profile != NULL) {
        return "ScepterProfile: given twice in the same context";
    }
    dc->profile = arg;

    if (dc->service != NULL) {
        err = scepter_profile_error(cmd->pool, dc->service, arg);
        return err ? apr_pstrcat(cmd->pool, SCEPTER_ID_UNKNOWN_PROFILE " ScepterProfile ",
                                 arg, ": ", err, NULL)
                   : NULL;
    }

    /* The configuration comes from an enclosing context, or follows in this
     * one (then scepter_cmd_config checks): decided in check_config. */
    use = apr_array_push(scepter_generation_get(cmd->pool)->profile_uses);
    use->dir_conf = dc;
    use->server = cmd->server;
    use->where = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                              cmd->directive->line_num);
    return NULL;
}

static const command_rec scepter_cmds[] = {
    AP_INIT_TAKE1("ScepterConfig", scepter_cmd_config, NULL, RSRC_CONF | ACCESS_CONF,
                  "path of the Scepter YAML configuration (relative to ServerRoot)"),
    AP_INIT_TAKE1("ScepterProfile", scepter_cmd_profile, NULL, RSRC_CONF | ACCESS_CONF,
                  "SCEP profile served here, as named in the YAML (default: \"default\")"),
    { NULL }
};


/* ---- configuration structures ---- */

static void *scepter_create_dir_conf(apr_pool_t *p, char *context)
{
    return apr_pcalloc(p, sizeof(scepter_dir_conf));
}

/* Each setting is inherited separately: ScepterConfig at server level and
 * ScepterProfile per <Location> is the usual layout. */
static void *scepter_merge_dir_conf(apr_pool_t *p, void *base_, void *add_)
{
    scepter_dir_conf *base = base_, *add = add_;
    scepter_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    conf->service = add->service ? add->service : base->service;
    conf->config_path = add->service ? add->config_path : base->config_path;
    conf->profile = add->profile ? add->profile : base->profile;
    return conf;
}

static void *scepter_create_server_conf(apr_pool_t *p, server_rec *s)
{
    return apr_pcalloc(p, sizeof(scepter_server_conf));
}


/* ---- hooks ---- */

/*
 * A profile set where no ScepterConfig is given in the same context. The
 * server's defaults (already merged with the main server's for a virtual
 * host) are the usual source. A <Location> may also inherit from another
 * <Location>, which only a request can resolve: then it is enough that some
 * loaded configuration defines the profile.
 */
static int scepter_check_profile_use(apr_pool_t *ptemp, const scepter_generation *gen,
                                     const scepter_profile_use *use)
{
    const scepter_dir_conf *sdc =
        ap_get_module_config(use->server->lookup_defaults, &scepter_module);
    const scepter_loaded *entry = (const scepter_loaded *) gen->services->elts;
    const char *err = "no ScepterConfig is given in this server";
    int i;

    if (sdc != NULL && sdc->service != NULL) {
        err = scepter_profile_error(ptemp, sdc->service, use->dir_conf->profile);
    }
    else if (gen->services->nelts == 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, use->server,
                     SCEPTER_ID_APACHE_NO_CONFIG " ScepterProfile %s at %s: %s",
                     use->dir_conf->profile, use->where, err);
        return 0;
    }
    else {
        for (i = 0; i < gen->services->nelts && err != NULL; i++) {
            err = scepter_profile_error(ptemp, entry[i].service, use->dir_conf->profile);
        }
    }
    if (err != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, use->server,
                     SCEPTER_ID_UNKNOWN_PROFILE " ScepterProfile %s at %s: %s",
                     use->dir_conf->profile, use->where, err);
        return 0;
    }
    return 1;
}

/*
 * Whether the User the children will run as can write what they write (the
 * store, status_dir). Only a parent running as root switches users; the core
 * has checked for the current user already, and every child checks again as
 * itself.
 */
static int scepter_check_worker_user(const scepter_generation *gen, server_rec *s)
{
    const scepter_loaded *entry = (const scepter_loaded *) gen->services->elts;
    char err[SCEPTER_ERR_LEN];
    int i;

    if (geteuid() != 0 || ap_unixd_config.user_id == (uid_t) -1) {
        return 1;
    }
    for (i = 0; i < gen->services->nelts; i++) {
        err[0] = '\0';
        if (!scepter_service_check_worker_user(entry[i].service, ap_unixd_config.user_name,
                                               (unsigned long) ap_unixd_config.user_id,
                                               (unsigned long) ap_unixd_config.group_id,
                                               err, sizeof(err))) {
            err[sizeof(err) - 1] = '\0';
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         SCEPTER_ID_CONFIG_INVALID " ScepterConfig %s: %s (children run as User %s)",
                         entry[i].path, err, ap_unixd_config.user_name);
            return 0;
        }
    }
    return 1;
}

/* configtest only: a CA key in a PKCS#11 token is loaded and checked in this
 * process, which exits; a parent that forks children never opens the token
 * (a PKCS#11 session does not survive fork): each child loads the key. */
static int scepter_check_ca_key(const scepter_generation *gen, server_rec *s)
{
    const scepter_loaded *entry = (const scepter_loaded *) gen->services->elts;
    char err[SCEPTER_ERR_LEN];
    int i;

    for (i = 0; i < gen->services->nelts; i++) {
        err[0] = '\0';
        if (!scepter_service_check_ca_key(entry[i].service, err, sizeof(err))) {
            err[sizeof(err) - 1] = '\0';
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         SCEPTER_ID_CONFIG_INVALID " ScepterConfig %s: %s", entry[i].path, err);
            return 0;
        }
    }
    return 1;
}

/* The core's load-time warnings (expiring CA/RA certificates), per file. */
static void scepter_log_warnings(const scepter_generation *gen, server_rec *s)
{
    const scepter_loaded *entry = (const scepter_loaded *) gen->services->elts;
    size_t n, w;
    int i;

    for (i = 0; i < gen->services->nelts; i++) {
        n = scepter_service_warning_count(entry[i].service);
        for (w = 0; w < n; w++) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         SCEPTER_ID_CERT_EXPIRING " ScepterConfig %s: %s", entry[i].path,
                         scepter_service_warning(entry[i].service, w));
        }
    }
}

/* Every loaded configuration counts into the one shared block, in the
 * parent before the children fork. A failure leaves SCEP serving; the
 * metrics location then answers 503. */
static void scepter_attach_metrics(const scepter_generation *gen, server_rec *s)
{
    const scepter_loaded *entry = (const scepter_loaded *) gen->services->elts;
    void *mem = scepter_metrics_memory(s);
    char err[SCEPTER_ERR_LEN];
    int i;

    for (i = 0; mem != NULL && i < gen->services->nelts; i++) {
        err[0] = '\0';
        if (!scepter_service_attach_metrics(entry[i].service, mem, scepter_metrics_size(),
                                            err, sizeof(err))) {
            err[sizeof(err) - 1] = '\0';
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         SCEPTER_ID_METRICS_NO_MEMORY " ScepterConfig %s: metrics: %s",
                         entry[i].path, err);
        }
    }
}

/* check_config, not post_config: configtest (`apache2 -t`) runs only this. */
static int scepter_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                server_rec *s)
{
    const scepter_generation *gen = scepter_generation_find(pconf);
    const scepter_profile_use *use;
    int i, ok = 1;

    if (gen == NULL) {
        return OK;
    }
    ok &= scepter_check_worker_user(gen, s);
    /* at start the error log is not open yet: post_config says it there */
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST) {
        scepter_log_warnings(gen, s);
        ok &= scepter_check_ca_key(gen, s);
    }
    use = (const scepter_profile_use *) gen->profile_uses->elts;
    for (i = 0; i < gen->profile_uses->nelts; i++) {
        /* a context with its own ScepterConfig was checked at parse time */
        if (use[i].dir_conf->service == NULL) {
            ok &= scepter_check_profile_use(ptemp, gen, &use[i]);
        }
    }
    return ok ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

static int scepter_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *s)
{
    scepter_server_conf *sc = ap_get_module_config(s->module_config, &scepter_module);

    sc->generation = scepter_generation_find(pconf);

    /* httpd reads its configuration twice at start-up; the first pass is a
     * dry run whose services are freed at once. Nothing to announce then. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || sc->generation == NULL) {
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 SCEPTER_ID_APACHE_LOADED " scepter %s: %d configuration(s) loaded",
                 scepter_version(), sc->generation->services->nelts);
    scepter_log_warnings(sc->generation, s);
    scepter_attach_metrics(sc->generation, s);
    return OK;
}

/*
 * Per-process resources (store handles, ...) are opened here, after fork, in
 * every child: never in the parent, which only loads and checks. Threads of
 * a child (event, worker MPMs) share what this opens; the core is
 * thread-safe. A failure is logged and the child serves on: the core
 * answers what needs the missing resources with a refusal that issues
 * nothing (SCP1004) and tries the start-up again later.
 */
/* The log of the core's background threads (the Intune revocation sync):
 * the main server's error log; ap_log_error is thread-safe. */
static void scepter_background_log(void *ctx, const scepter_log_record *rec)
{
    if (rec->text != NULL) {
        ap_log_error(APLOG_MARK, scepter_ap_log_level(rec->level), 0, (server_rec *) ctx, "%s", rec->text);
    }
}

/* At the child's exit (pchild destroyed): the background threads stop
 * before the process goes. Not in a forked CGI (no child cleanup). */
static apr_status_t scepter_stop_background(void *data)
{
    scepter_service_stop_background(data);
    return APR_SUCCESS;
}

static void scepter_child_init(apr_pool_t *pchild, server_rec *s)
{
    const scepter_server_conf *sc = ap_get_module_config(s->module_config, &scepter_module);
    const scepter_loaded *entry;
    char err[SCEPTER_ERR_LEN];
    int i;

    if (sc->generation == NULL) {
        return;
    }
    entry = (const scepter_loaded *) sc->generation->services->elts;
    for (i = 0; i < sc->generation->services->nelts; i++) {
        err[0] = '\0';
        if (scepter_service_worker_init(entry[i].service, err, sizeof(err)) != 0) {
            err[sizeof(err) - 1] = '\0';
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         SCEPTER_ID_WORKER_INIT_FAILED " ScepterConfig %s: %s",
                         entry[i].path, err);
        }
        err[0] = '\0';
        if (scepter_service_start_background(entry[i].service, scepter_background_log, s, err,
                                             sizeof(err)) != 0) {
            err[sizeof(err) - 1] = '\0';
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         SCEPTER_ID_WORKER_INIT_FAILED " ScepterConfig %s: %s",
                         entry[i].path, err);
        }
        apr_pool_cleanup_register(pchild, entry[i].service, scepter_stop_background,
                                  apr_pool_cleanup_null);
    }
}

static void scepter_register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(scepter_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(scepter_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(scepter_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(scepter_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(scepter) = {
    STANDARD20_MODULE_STUFF,
    scepter_create_dir_conf,
    scepter_merge_dir_conf,
    scepter_create_server_conf,
    NULL,                       /* server configs are not merged: main only */
    scepter_cmds,
    scepter_register_hooks,
    AP_MODULE_FLAG_NONE
};
