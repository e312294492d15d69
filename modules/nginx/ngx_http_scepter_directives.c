/*
 * The nginx connector's directives: what each one stores in its location,
 * and the checks a `scepter` location must pass when it is merged, so that
 * `nginx -t` reports them at the directive's line.
 *
 *   scepter_config /etc/scepter/scepter.yaml;   http, server, location
 *   scepter [profile];                          location: serve SCEP here
 *   scepter_ocsp;                               location: the CA's OCSP responder
 *   scepter_thread_pool name;                   http, server, location
 *   scepter_admin / scepter_mscep_admin / scepter_enrollments [profile];
 *                                               location: an admin face
 *   scepter_metrics;                            location: Prometheus metrics
 */
#include "ngx_http_scepter_module.h"

static char *ngx_http_scepter_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_scepter(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_scepter_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/*
 * What each directive makes its location serve. The name is the core's
 * route; a location of a route without a profile (metrics of every profile,
 * OCSP for the CA) is not checked against the configuration's profiles.
 */
static ngx_http_scepter_route_t  ngx_http_scepter_route_scep =
    { ngx_string(""), 1, 0 };
static ngx_http_scepter_route_t  ngx_http_scepter_route_admin =
    { ngx_string("admin"), 1, 0 };
static ngx_http_scepter_route_t  ngx_http_scepter_route_mscep_admin =
    { ngx_string("mscep_admin"), 1, 0 };
static ngx_http_scepter_route_t  ngx_http_scepter_route_enrollments =
    { ngx_string("enrollments"), 1, 0 };
static ngx_http_scepter_route_t  ngx_http_scepter_route_metrics =
    { ngx_string("metrics"), 0, 0 };
/* OCSP's GET carries base64 in the path: the core reads it as sent. */
static ngx_http_scepter_route_t  ngx_http_scepter_route_ocsp =
    { ngx_string("ocsp"), 0, 1 };


ngx_command_t  ngx_http_scepter_commands[] = {

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
      &ngx_http_scepter_route_scep },

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
    slcf->route = cmd->post;

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


/* A `scepter` location needs a configuration that knows its profile. */
char *
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

    if (!slcf->route->has_profile) {
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
void
ngx_http_scepter_take_body_limit(ngx_conf_t *cf,
    ngx_http_scepter_loc_conf_t *slcf)
{
    ngx_http_core_loc_conf_t  *clcf;

    /* during a merge, cf's context is the location being merged */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->client_max_body_size = 0;

    slcf->max_body = (off_t) scepter_service_max_body(slcf->service);
}
