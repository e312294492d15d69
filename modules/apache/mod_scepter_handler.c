/*
 * Apache httpd connector for Scepter: the request path.
 *
 * The handler reads the whole body into r->pool, up to the core's limit
 * (scepter_service_max_body(): 413 as soon as a body passes it), builds a
 * scepter_request and asks the core, blocking: an httpd worker thread (or
 * prefork child) may wait for RSA and store writes, so unlike nginx nothing
 * is deferred. It then writes the core's answer as is.
 *
 * No protocol logic here: every method and status is the core's decision
 * (the body limit too). The handler returns OK after setting r->status, so
 * httpd adds no error page of its own to the core's 4xx/5xx bodies; only a
 * body over the limit, refused before the core sees it, gets httpd's 413.
 */
#include "mod_scepter.h"

#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_buckets.h>
#include <apr_strings.h>
#include <util_filter.h>
#include <mod_ssl.h>  /* ssl_var_lookup, an optional function of mod_ssl */

#include <string.h>

APLOG_USE_MODULE(scepter);

/* The first buffer of a body of unknown length (chunked). */
#define SCEPTER_BODY_FIRST  ((apr_size_t) 8192)

typedef struct {
    unsigned char  *data;  /* in r->pool */
    apr_size_t      len;
    apr_size_t      size;
    apr_size_t      limit; /* the core's: scepter_service_max_body() */
    apr_off_t       seen;  /* bytes read, kept or not */
} scepter_body;


/* ---- reading the body ---- */

/* The Content-Length, or -1 for none (chunked) or one HTTP_IN will refuse. */
static apr_off_t scepter_declared_length(const request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t n;
    char *end;

    if (cl == NULL || apr_strtoff(&n, cl, &end, 10) != APR_SUCCESS || *end != '\0' || n < 0) {
        return -1;
    }
    return n;
}

/* A client's mistake: a warning, then 413 from httpd. The connection is
 * closed after it rather than the rest of the body read for keep-alive. */
static int scepter_body_too_large(request_rec *r, apr_off_t size, const char *which,
                                  apr_size_t limit)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, SCEPTER_ID_BODY_TOO_LARGE
                  " scepter: request body of %" APR_OFF_T_FMT " bytes %s exceeds "
                  "limits.max_message_bytes (%" APR_SIZE_T_FMT ")", size, which, limit);
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_REQUEST_ENTITY_TOO_LARGE;
}

/* Appends while the body stays within the limit, growing the buffer
 * geometrically: pools do not realloc, so the waste is bounded by the
 * final size. Past the limit it only counts. */
static void scepter_body_append(apr_pool_t *p, scepter_body *body, const char *data,
                                apr_size_t len)
{
    apr_size_t size;
    unsigned char *grown;

    body->seen += len;
    if (body->seen > (apr_off_t) body->limit) {
        return;
    }
    if (body->len + len > body->size) {
        size = body->size ? body->size * 2 : SCEPTER_BODY_FIRST;
        if (size < body->len + len) {
            size = body->len + len;
        }
        if (size > body->limit) {
            size = body->limit;
        }
        grown = apr_palloc(p, size);
        if (body->len) {
            memcpy(grown, body->data, body->len);
        }
        body->data = grown;
        body->size = size;
    }
    memcpy(body->data + body->len, data, len);
    body->len += len;
}

/* Copies the data buckets of bb; sets *eos at the end of the body. Stops
 * once the body has passed the limit. */
static apr_status_t scepter_body_take(request_rec *r, apr_bucket_brigade *bb,
                                      scepter_body *body, int *eos)
{
    apr_bucket *e;
    const char *data;
    apr_size_t len;
    apr_status_t rv;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_EOS(e)) {
            *eos = 1;
            return APR_SUCCESS;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            continue;
        }
        rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        scepter_body_append(r->pool, body, data, len);
        if (body->seen > (apr_off_t) body->limit) {
            return APR_SUCCESS;
        }
    }
    return APR_SUCCESS;
}

/*
 * Reads the whole body (for every method: what a body means is the core's
 * call) through the input filters, which de-chunk, enforce Content-Length
 * and LimitRequestBody, and send "100 Continue". The core's limit holds
 * while reading: a Content-Length over it is refused before anything is
 * read (no "100 Continue" either), a chunked body as soon as its running
 * total passes it. Returns OK or the status to give up with.
 */
static int scepter_read_body(request_rec *r, scepter_body *body)
{
    apr_bucket_brigade *bb;
    apr_status_t rv = APR_SUCCESS;
    apr_off_t declared = scepter_declared_length(r);
    int eos = 0;

    if (declared > (apr_off_t) body->limit) {
        return scepter_body_too_large(r, declared, "declared", body->limit);
    }
    if (declared > 0) {
        body->data = apr_palloc(r->pool, (apr_size_t) declared);
        body->size = (apr_size_t) declared;
    }

    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!eos && body->seen <= (apr_off_t) body->limit && rv == APR_SUCCESS) {
        rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ,
                            HUGE_STRING_LEN);
        if (rv == APR_SUCCESS) {
            rv = scepter_body_take(r, bb, body, &eos);
        }
        apr_brigade_cleanup(bb);
    }
    apr_brigade_destroy(bb);

    if (rv != APR_SUCCESS) {
        /* Usually the client: gone or too slow. AP_FILTER_ERROR (bad
         * chunking, LimitRequestBody) was logged and answered by a filter. */
        if (rv != AP_FILTER_ERROR) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, SCEPTER_ID_APACHE_BODY_READ
                          " scepter: reading the request body failed");
        }
        return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
    }
    if (!eos) {
        return scepter_body_too_large(r, body->seen, "so far", body->limit);
    }
    return OK;
}


/* ---- building the scepter_request ---- */

static scepter_str scepter_str_of(const char *s)
{
    scepter_str out;

    /* The core gets "" rather than NULL for an absent value. */
    out.data = s ? s : "";
    out.len = s ? strlen(s) : 0;
    return out;
}

/* What each handler name serves: the core's route ("" SCEP, the JSON
 * challenge API, NDES's mscep_admin page, the enrollments page, the metrics,
 * OCSP), and whether the core reads the path as sent, undecoded. */
typedef struct {
    const char *handler;
    const char *route;
    int raw_path;
} scepter_route;

static const scepter_route scepter_routes[] = {
    {SCEPTER_HANDLER_NAME, "", 0},
    {SCEPTER_ADMIN_HANDLER_NAME, "admin", 0},
    {SCEPTER_MSCEP_ADMIN_HANDLER_NAME, "mscep_admin", 0},
    {SCEPTER_ENROLLMENTS_HANDLER_NAME, "enrollments", 0},
    {SCEPTER_METRICS_HANDLER_NAME, "metrics", 0},
    /* OCSP's GET carries base64 in the path (AllowEncodedSlashes must let
     * %2F through). */
    {SCEPTER_OCSP_HANDLER_NAME, "ocsp", 1},
};

/* The route a handler name asks for; NULL: not ours. */
static const scepter_route *scepter_route_of(const char *handler)
{
    size_t i;

    if (handler == NULL) {
        return NULL;
    }
    for (i = 0; i < sizeof(scepter_routes) / sizeof(scepter_routes[0]); i++) {
        if (strcmp(handler, scepter_routes[i].handler) == 0) {
            return &scepter_routes[i];
        }
    }
    return NULL;
}

/* The subject of a client certificate mod_ssl verified, or NULL. */
static const char *scepter_verified_client_cert(request_rec *r)
{
    APR_OPTIONAL_FN_TYPE(ssl_var_lookup) *lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
    const char *verify;

    if (lookup == NULL) {
        return NULL;  /* no mod_ssl: no client certificates */
    }
    verify = lookup(r->pool, r->server, r->connection, r, (char *) "SSL_CLIENT_VERIFY");
    if (verify == NULL || strcmp(verify, "SUCCESS") != 0) {
        return NULL;
    }
    return lookup(r->pool, r->server, r->connection, r, (char *) "SSL_CLIENT_S_DN");
}

static void scepter_fill_request(request_rec *r, const scepter_dir_conf *dc,
                                 const scepter_route *route, const scepter_body *body,
                                 scepter_request *req)
{
    /* zeroed first: a field added to the C API later reads as empty */
    memset(req, 0, sizeof(*req));
    req->method = scepter_str_of(r->method);
    req->path = scepter_str_of(r->uri); /* decoded, like nginx's $uri */
    req->query = scepter_str_of(r->args); /* raw, still percent-encoded */
    req->content_type = scepter_str_of(apr_table_get(r->headers_in, "Content-Type"));
    /* useragent_ip: the peer, or what mod_remoteip established */
    req->client_ip = scepter_str_of(r->useragent_ip ? r->useragent_ip
                                                    : r->connection->client_ip);
    req->user_agent = scepter_str_of(apr_table_get(r->headers_in, "User-Agent"));
    req->profile = scepter_str_of(dc->profile);
    req->route = scepter_str_of(route->route);
    if (route->raw_path && r->unparsed_uri != NULL) {
        req->path.data = r->unparsed_uri;
        req->path.len = strcspn(r->unparsed_uri, "?#");
    }
    /* set by an auth module (mod_auth_basic, ...) once it has checked it */
    req->remote_user = scepter_str_of(r->user);
    req->client_cert = scepter_str_of(scepter_verified_client_cert(r));
    req->body = body->data;
    req->body_len = body->len;
}


/* ---- writing the response ---- */

int scepter_ap_log_level(scepter_log_level level)
{
    static const int levels[] = {
        APLOG_DEBUG,    /* SCEPTER_LOG_DEBUG */
        APLOG_INFO,     /* SCEPTER_LOG_INFO */
        APLOG_WARNING,  /* SCEPTER_LOG_WARN */
        APLOG_ERR       /* SCEPTER_LOG_ERROR */
    };
    if ((size_t) level < sizeof(levels) / sizeof(levels[0])) {
        return levels[level];
    }
    return APLOG_ERR;
}

/* Before anything is sent: the records are the audit trail, written even
 * if the client has gone. */
static void scepter_log_records(request_rec *r, const scepter_response *resp)
{
    const scepter_log_record *rec;
    size_t i;

    for (i = 0; i < resp->log_count; i++) {
        rec = &resp->logs[i];
        if (rec->text == NULL) {
            continue;
        }
        ap_log_rerror(APLOG_MARK, scepter_ap_log_level(rec->level), 0, r, "%s", rec->text);
    }
}

/* Status, type, length and body as the core gave them. ap_rwrite copies (or
 * sends) the bytes before it returns, so resp can be freed afterwards. */
static void scepter_write(request_rec *r, const scepter_response *resp)
{
    size_t i;

    r->status = resp->status;
    if (resp->content_type != NULL) {
        ap_set_content_type(r, apr_pstrdup(r->pool, resp->content_type));
    }
    ap_set_content_length(r, (apr_off_t) resp->body_len);
    for (i = 0; i < resp->header_count; i++) {
        apr_table_set(r->headers_out, resp->headers[i].name, resp->headers[i].value);
    }

    /* HEAD: httpd drops the body itself, but there is no point in passing it */
    if (resp->body_len == 0 || r->header_only) {
        return;
    }
    /* A failure means the client is gone: nothing more to do for it. */
    ap_rwrite(resp->body, (int) resp->body_len, r);
}


/* ---- entry point ---- */

int scepter_handler(request_rec *r)
{
    const scepter_dir_conf *dc;
    scepter_body body = { NULL, 0, 0, 0, 0 };
    const scepter_route *route;
    scepter_request req;
    scepter_response *resp;
    int rc;

    route = scepter_route_of(r->handler);
    if (route == NULL) {
        return DECLINED;
    }

    dc = ap_get_module_config(r->per_dir_config, &scepter_module);
    if (dc->service == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SCEPTER_ID_APACHE_NO_CONFIG " scepter: \"SetHandler scepter\" where "
                      "no ScepterConfig applies");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    body.limit = scepter_service_max_body(dc->service);
    rc = scepter_read_body(r, &body);
    if (rc != OK) {
        return rc;
    }

    scepter_fill_request(r, dc, route, &body, &req);
    resp = scepter_handle(dc->service, &req, 1);
    if (resp == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      SCEPTER_ID_APACHE_NO_RESPONSE " scepter: the core returned no response");
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    scepter_log_records(r, resp);
    scepter_write(r, resp);
    scepter_response_free(resp);
    return OK;
}
