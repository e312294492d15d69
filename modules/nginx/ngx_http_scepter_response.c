/*
 * nginx connector for Scepter: writing the core's answer back. The core's
 * log records go to the request's error log at their level, then the status,
 * headers and body it chose; nothing here decides what to answer.
 */
#include "ngx_http_scepter_module.h"

ngx_uint_t
ngx_http_scepter_log_level(scepter_log_level level)
{
    static const ngx_uint_t  levels[] = {
        NGX_LOG_DEBUG,   /* SCEPTER_LOG_DEBUG */
        NGX_LOG_INFO,    /* SCEPTER_LOG_INFO */
        NGX_LOG_WARN,    /* SCEPTER_LOG_WARN */
        NGX_LOG_ERR      /* SCEPTER_LOG_ERROR */
    };

    if ((size_t) level < sizeof(levels) / sizeof(levels[0])) {
        return levels[level];
    }

    return NGX_LOG_ERR;
}


/* On the event loop, before anything can fail: the records are the audit
 * trail, they are written even if the client has gone. */
static void
ngx_http_scepter_log_records(ngx_http_request_t *r,
    const scepter_response *resp)
{
    size_t                     i;
    const scepter_log_record  *rec;

    for (i = 0; i < resp->log_count; i++) {
        rec = &resp->logs[i];

        if (rec->text == NULL) {
            continue;
        }

        ngx_log_error(ngx_http_scepter_log_level(rec->level),
                      r->connection->log, 0, "%s", rec->text);
    }
}


/* The core's extra headers (OCSP's caching headers), copied into r->pool. */
static ngx_int_t
ngx_http_scepter_add_headers(ngx_http_request_t *r,
    const scepter_response *resp)
{
    size_t            i, nlen, vlen;
    u_char           *p;
    ngx_table_elt_t  *h;

    for (i = 0; i < resp->header_count; i++) {
        nlen = ngx_strlen(resp->headers[i].name);
        vlen = ngx_strlen(resp->headers[i].value);

        h = ngx_list_push(&r->headers_out.headers);
        p = ngx_pnalloc(r->pool, nlen + vlen);
        if (h == NULL || p == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
#if (nginx_version >= 1023000)
        h->next = NULL;  /* 1.23 chains headers of the same name */
#endif
        h->key.len = nlen;
        h->key.data = p;
        ngx_memcpy(p, resp->headers[i].name, nlen);
        h->value.len = vlen;
        h->value.data = p + nlen;
        ngx_memcpy(p + nlen, resp->headers[i].value, vlen);
    }

    return NGX_OK;
}


/* Copies status, type and body into r->pool, so the core's response can be
 * freed before nginx starts writing. */
static ngx_int_t
ngx_http_scepter_prepare(ngx_http_request_t *r, const scepter_response *resp,
    ngx_chain_t **out)
{
    size_t        len;
    u_char       *type;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    r->headers_out.status = resp->status;

    if (resp->content_type != NULL) {
        len = ngx_strlen(resp->content_type);

        type = ngx_pnalloc(r->pool, len);
        if (type == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(type, resp->content_type, len);
        r->headers_out.content_type.len = len;
        r->headers_out.content_type.data = type;
        r->headers_out.content_type_len = len;
    }

    if (ngx_http_scepter_add_headers(r, resp) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (resp->body == NULL || resp->body_len == 0) {
        r->headers_out.content_length_n = 0;
        r->header_only = 1;
        return NGX_OK;
    }

    r->headers_out.content_length_n = resp->body_len;

    b = ngx_create_temp_buf(r->pool, resp->body_len);
    cl = ngx_alloc_chain_link(r->pool);
    if (b == NULL || cl == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->last, resp->body, resp->body_len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;
    *out = cl;

    return NGX_OK;
}


/* Logs, copies and frees the core's response, then sends the copy.
 * Returns what the request is to be finalized with. */
ngx_int_t
ngx_http_scepter_send(ngx_http_request_t *r, scepter_response *resp)
{
    ngx_int_t     rc;
    ngx_chain_t  *out;

    ngx_http_scepter_log_records(r, resp);

    out = NULL;
    rc = r->connection->error ? NGX_ERROR
                              : ngx_http_scepter_prepare(r, resp, &out);

    scepter_response_free(resp);

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}
