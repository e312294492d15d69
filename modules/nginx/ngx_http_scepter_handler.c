/*
 * nginx connector for Scepter: the request path (the answer is written by
 * ngx_http_scepter_response.c).
 *
 * The content handler reads the whole body, builds a scepter_request and asks
 * the core. The body is held to the core's limit while it is read: a
 * Content-Length over it is refused before reading, and a request body
 * filter refuses a body (chunked, HTTP/2) as soon as its running total
 * passes it, so a too large body is never buffered whole. Cheap answers
 * (GetCACaps, GetCACert, errors) come back at once on the event loop. When
 * the core returns NULL the request needs slow work (RSA, store writes): it
 * is posted to an nginx thread pool, and the completion event, back on the
 * event loop, sends the response.
 *
 * No protocol logic here: every method and status is the core's decision
 * (the body limit too: scepter_service_max_body()).
 */
#include "ngx_http_scepter_module.h"

/*
 * A pending task holds this timer. A gracefully exiting worker (reload)
 * waits for every non-cancelable timer, but not for thread tasks; without
 * it an old worker could exit under a running enrollment and drop it.
 */
#define NGX_HTTP_SCEPTER_GUARD_MS  60000

/* Part of a body nginx spilled to its temp file; read in the thread. */
typedef struct {
    ngx_fd_t     fd;
    off_t        offset;
    size_t       len;
    u_char      *dst;
    ngx_str_t   *name;
} ngx_http_scepter_file_part_t;

/* Per request, in r->pool. The thread touches only this, never r. */
typedef struct {
    ngx_http_request_t  *request;
    scepter_service     *service;
    ngx_thread_pool_t   *thread_pool;
    off_t                max_body;      /* the core's limit */
    off_t                body_received; /* so far, counted by the body filter */
    scepter_request      req;
    ngx_array_t         *file_parts;  /* NULL: the body is in memory */
    scepter_response    *resp;        /* set by the thread */
    ngx_str_t           *read_failed; /* set by the thread: unreadable file */
    ngx_err_t            read_err;
    ngx_event_t          guard;
} ngx_http_scepter_ctx_t;

static void ngx_http_scepter_body_ready(ngx_http_request_t *r);

static ngx_http_request_body_filter_pt  ngx_http_next_request_body_filter;


/* ---- building the scepter_request ---- */

static scepter_str
ngx_http_scepter_str(const ngx_str_t *s)
{
    scepter_str  out;

    /* The core gets "" rather than NULL for an empty value. */
    out.data = s->len ? (const char *) s->data : "";
    out.len = s->len;

    return out;
}


static scepter_str
ngx_http_scepter_header(const ngx_table_elt_t *h)
{
    static const ngx_str_t  empty = ngx_null_string;

    return ngx_http_scepter_str(h ? &h->value : &empty);
}


/* The subject of a client certificate the TLS layer verified, or "". */
static scepter_str
ngx_http_scepter_verified_client_cert(ngx_http_request_t *r)
{
    scepter_str  out = { "", 0 };

#if (NGX_HTTP_SSL)
    X509       *cert;
    char        line[512];
    size_t      len;
    u_char     *copy;

    if (r->connection->ssl == NULL) {
        return out;
    }

    /* get0: borrowed from the connection, nothing to free here */
    cert = SSL_get0_peer_certificate(r->connection->ssl->connection);
    if (cert == NULL
        || SSL_get_verify_result(r->connection->ssl->connection) != X509_V_OK)
    {
        return out;
    }

    X509_NAME_oneline(X509_get_subject_name(cert), line, sizeof(line));
    len = ngx_strlen(line);
    copy = ngx_pnalloc(r->pool, len);
    if (copy != NULL) {
        ngx_memcpy(copy, line, len);
        out.data = (const char *) copy;
        out.len = len;
    }
#endif

    return out;
}


static void
ngx_http_scepter_fill_request(ngx_http_request_t *r,
    ngx_http_scepter_loc_conf_t *slcf, scepter_request *req)
{
    ngx_str_t  raw;

    req->method = ngx_http_scepter_str(&r->method_name);
    req->path = ngx_http_scepter_str(&r->uri);

    /* OCSP's GET carries base64 in the path: the core reads it as sent,
     * before nginx decoded it and merged the "//" base64 may hold. */
    if (slcf->route->raw_path && r->unparsed_uri.len)
    {
        raw = r->unparsed_uri;
        if (r->args_start != NULL && r->args_start > raw.data
            && r->args_start <= raw.data + raw.len)
        {
            raw.len = r->args_start - 1 - raw.data;
        }
        req->path = ngx_http_scepter_str(&raw);
    }

    req->query = ngx_http_scepter_str(&r->args);
    req->content_type = ngx_http_scepter_header(r->headers_in.content_type);
    req->client_ip = ngx_http_scepter_str(&r->connection->addr_text);
    req->user_agent = ngx_http_scepter_header(r->headers_in.user_agent);
    req->profile = ngx_http_scepter_str(&slcf->profile);
    req->route = ngx_http_scepter_str(&slcf->route->name);
    /* Set only where auth_basic checked the password in the access phase;
     * an Authorization header nobody checked leaves it empty. */
    req->remote_user = ngx_http_scepter_str(&r->headers_in.user);
    req->client_cert = ngx_http_scepter_verified_client_cert(r);
    req->body = NULL;
    req->body_len = 0;
}


/*
 * The thread reads the request after the handler has returned: give it
 * copies in r->pool, which r->main->blocked keeps alive until completion.
 * (The profile lives in the configuration, the body already in r->pool.)
 */
static ngx_int_t
ngx_http_scepter_pin_request(ngx_pool_t *pool, scepter_request *req)
{
    u_char       *p;
    size_t        total;
    ngx_uint_t    i;
    scepter_str  *s[7];  /* every request string not in the configuration */

    s[0] = &req->method;
    s[1] = &req->query;
    s[2] = &req->content_type;
    s[3] = &req->client_ip;
    s[4] = &req->user_agent;
    s[5] = &req->path;
    s[6] = &req->remote_user;

    total = 0;
    for (i = 0; i < 7; i++) {
        total += s[i]->len;
    }

    if (total == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, total);
    if (p == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < 7; i++) {
        if (s[i]->len) {
            ngx_memcpy(p, s[i]->data, s[i]->len);
            s[i]->data = (const char *) p;
            p += s[i]->len;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_scepter_add_file_part(ngx_http_request_t *r,
    ngx_http_scepter_ctx_t *ctx, ngx_buf_t *b, u_char *dst)
{
    ngx_http_scepter_file_part_t  *part;

    if (ctx->file_parts == NULL) {
        ctx->file_parts = ngx_array_create(r->pool, 1,
                                        sizeof(ngx_http_scepter_file_part_t));
        if (ctx->file_parts == NULL) {
            return NGX_ERROR;
        }
    }

    part = ngx_array_push(ctx->file_parts);
    if (part == NULL) {
        return NGX_ERROR;
    }

    part->fd = b->file->fd;
    part->offset = b->file_pos;
    part->len = (size_t) (b->file_last - b->file_pos);
    part->dst = dst;
    part->name = &b->file->name;

    return NGX_OK;
}


/*
 * Points req.body at the body. One buffer in memory (the usual case with
 * request_body_in_single_buf) is used in place; anything else is gathered
 * into one r->pool buffer. Parts nginx wrote to its temp file are only
 * recorded here: reading them is disk I/O, left to the thread.
 */
static ngx_int_t
ngx_http_scepter_collect_body(ngx_http_request_t *r,
    ngx_http_scepter_ctx_t *ctx)
{
    off_t         total;
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && ngx_buf_in_memory(cl->buf)) {
        ctx->req.body = cl->buf->pos;
        ctx->req.body_len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    total = 0;
    for ( /* void */ ; cl; cl = cl->next) {
        total += ngx_buf_size(cl->buf);
    }

    if (total == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) total);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->req.body = p;
    ctx->req.body_len = (size_t) total;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            if (b->last > b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }

        } else if (b->in_file && b->file_last > b->file_pos) {
            if (ngx_http_scepter_add_file_part(r, ctx, b, p) != NGX_OK) {
                return NGX_ERROR;
            }

            p += b->file_last - b->file_pos;
        }
    }

    return NGX_OK;
}


/* At the start of the request, before the body is read: the body filter
 * finds the limit and its count here. */
static ngx_http_scepter_ctx_t *
ngx_http_scepter_ctx_create(ngx_http_request_t *r)
{
    ngx_http_scepter_ctx_t       *ctx;
    ngx_http_scepter_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_scepter_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_scepter_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->request = r;
    ctx->service = slcf->service;
    ctx->thread_pool = slcf->thread_pool;
    ctx->max_body = slcf->max_body;

    ngx_http_set_ctx(r, ctx, ngx_http_scepter_module);

    return ctx;
}


/* Once the body is read: the request the core gets. */
static ngx_int_t
ngx_http_scepter_ctx_fill(ngx_http_request_t *r, ngx_http_scepter_ctx_t *ctx)
{
    ngx_http_scepter_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_scepter_module);

    ngx_http_scepter_fill_request(r, slcf, &ctx->req);

    return ngx_http_scepter_collect_body(r, ctx);
}


/* ---- the body limit ---- */

/* A client's mistake, so a warning (nginx's own client_max_body_size would
 * log it at [error]); nginx adds the client and the request line. */
static void
ngx_http_scepter_log_too_large(ngx_http_request_t *r, off_t size,
    const char *which, off_t limit)
{
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  SCEPTER_ID_BODY_TOO_LARGE " scepter: request body of %O "
                  "bytes %s exceeds limits.max_message_bytes (%O)",
                  size, which, limit);
}


/*
 * Counts the body of a scepter request as nginx reads it (after chunked
 * decoding, for HTTP/1.1 and HTTP/2 alike) and stops it once the count
 * passes the core's limit: the 413 goes out at once, and the connection is
 * closed after a lingering close rather than the rest read for keep-alive.
 */
static ngx_int_t
ngx_http_scepter_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t             *cl;
    ngx_http_scepter_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_scepter_module);
    if (ctx == NULL) {
        return ngx_http_next_request_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        ctx->body_received += ngx_buf_size(cl->buf);
    }

    if (ctx->body_received > ctx->max_body) {
        ngx_http_scepter_log_too_large(r, ctx->body_received, "so far",
                                       ctx->max_body);
        r->lingering_close = 1;
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    return ngx_http_next_request_body_filter(r, in);
}


ngx_int_t
ngx_http_scepter_body_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_scepter_body_filter;

    return NGX_OK;
}


/* ---- the thread pool ---- */

/* On a pool thread: plain pread(), no nginx logging (done on completion). */
static ngx_int_t
ngx_http_scepter_read_file_parts(ngx_http_scepter_ctx_t *ctx)
{
    size_t                         done;
    ssize_t                        n;
    ngx_uint_t                     i;
    ngx_http_scepter_file_part_t  *part;

    part = ctx->file_parts->elts;

    for (i = 0; i < ctx->file_parts->nelts; i++) {
        for (done = 0; done < part[i].len; done += n) {
            n = pread(part[i].fd, part[i].dst + done, part[i].len - done,
                      part[i].offset + done);

            if (n == -1 && ngx_errno == NGX_EINTR) {
                n = 0;
                continue;
            }

            if (n <= 0) {
                /* n == 0: the file is shorter than nginx said (err 0) */
                ctx->read_err = (n == -1) ? ngx_errno : 0;
                ctx->read_failed = part[i].name;
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


static void
ngx_http_scepter_task_run(void *data, ngx_log_t *log)
{
    ngx_http_scepter_ctx_t  *ctx = data;

    if (ctx->file_parts != NULL
        && ngx_http_scepter_read_file_parts(ctx) != NGX_OK)
    {
        return;
    }

    ctx->resp = scepter_handle(ctx->service, &ctx->req, 1);
}


static void
ngx_http_scepter_guard_handler(ngx_event_t *ev)
{
    /* the task is still running: keep the worker from exiting */
    ngx_add_timer(ev, NGX_HTTP_SCEPTER_GUARD_MS);
}


/* Back on the event loop: what to finalize the request with. */
static ngx_int_t
ngx_http_scepter_task_result(ngx_http_request_t *r,
    ngx_http_scepter_ctx_t *ctx)
{
    if (ctx->read_failed != NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ctx->read_err,
                      SCEPTER_ID_NGX_BODY_READ " scepter: reading the request "
                      "body from \"%V\" failed", ctx->read_failed);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->resp == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      SCEPTER_ID_NGX_NO_RESPONSE " scepter: the core "
                      "returned no response");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_scepter_send(r, ctx->resp);
}


/*
 * Completion event, on the event loop. As for nginx's own aio threads:
 * drop the block, then finalize. If the request was terminated meanwhile
 * (client gone, shutdown timer), c->error is set and finalizing closes it.
 */
static void
ngx_http_scepter_task_done(ngx_event_t *ev)
{
    ngx_int_t                rc;
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_http_scepter_ctx_t  *ctx;

    ctx = ev->data;
    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    if (ctx->guard.timer_set) {
        ngx_del_timer(&ctx->guard);
    }

    r->main->blocked--;
    r->aio = 0;

    rc = ngx_http_scepter_task_result(r, ctx);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * Hands the request to the thread pool. On success the request stays open
 * (no finalize) until ngx_http_scepter_task_done().
 */
static ngx_int_t
ngx_http_scepter_post(ngx_http_request_t *r, ngx_http_scepter_ctx_t *ctx)
{
    ngx_thread_task_t  *task;

    if (ngx_http_scepter_pin_request(r->pool, &ctx->req) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    task = ngx_thread_task_alloc(r->pool, 0);
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    task->ctx = ctx;
    task->handler = ngx_http_scepter_task_run;
    task->event.data = ctx;
    task->event.handler = ngx_http_scepter_task_done;
    task->event.log = r->connection->log;

    if (ngx_thread_task_post(ctx->thread_pool, task) != NGX_OK) {
        /* nginx has logged why (usually a full queue): shed the load */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      SCEPTER_ID_NGX_THREAD_POST " scepter: cannot post "
                      "the request to the thread pool");
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    /* nginx frees no request with blocked > 0, even a terminated one */
    r->main->blocked++;
    r->aio = 1;

    ctx->guard.handler = ngx_http_scepter_guard_handler;
    ctx->guard.data = ctx;
    ctx->guard.log = r->connection->log;
    ngx_add_timer(&ctx->guard, NGX_HTTP_SCEPTER_GUARD_MS);

    return NGX_OK;
}


/* ---- entry points ---- */

/* Body read: answer at once if the core can, else go to the thread pool. */
static void
ngx_http_scepter_body_ready(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    scepter_response        *resp;
    ngx_http_scepter_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_scepter_module);
    if (ctx == NULL || ngx_http_scepter_ctx_fill(r, ctx) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* A body still on disk goes straight to the thread, which reads it:
     * the event loop never waits for the file. */
    if (ctx->file_parts == NULL) {
        resp = scepter_handle(ctx->service, &ctx->req, 0);

        if (resp != NULL) {
            ngx_http_finalize_request(r, ngx_http_scepter_send(r, resp));
            return;
        }
    }

    rc = ngx_http_scepter_post(r, ctx);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }
}


ngx_int_t
ngx_http_scepter_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_http_scepter_ctx_t  *ctx;

    ctx = ngx_http_scepter_ctx_create(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* A declared length over the limit: refused before any of the body is
     * read, and without "100 Continue". nginx discards what the client
     * sends anyway while the 413 goes out, as for client_max_body_size. */
    if (r->headers_in.content_length_n > ctx->max_body) {
        ngx_http_scepter_log_too_large(r, r->headers_in.content_length_n,
                                       "declared", ctx->max_body);
        r->expect_tested = 1;
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    /*
     * Read the body for every method, not discard it: a POST carries the
     * pkiMessage, and what a body means for other methods is the core's
     * call. One buffer, or nginx's temp file when it is larger than
     * client_body_buffer_size; never more than the core's limit (see
     * ngx_http_scepter_body_filter).
     */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_scepter_body_ready);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}
