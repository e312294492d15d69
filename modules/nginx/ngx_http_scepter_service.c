/*
 * The configurations (scepter.yaml) the nginx connector has loaded: one per
 * file per cycle, tied to the cycle's pool, so that during a reload the old
 * and the new generation coexist and old workers drain on the old one; and
 * the audit trail each one writes, reopened on `nginx -s reopen`.
 */
#include "ngx_http_scepter_module.h"

static ngx_int_t ngx_http_scepter_watch_audit_log(ngx_conf_t *cf,
    ngx_http_scepter_main_conf_t *smcf, scepter_service *svc);
static void ngx_http_scepter_reopen_audit_logs(ngx_open_file_t *file,
    ngx_log_t *log);


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
scepter_service *
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
