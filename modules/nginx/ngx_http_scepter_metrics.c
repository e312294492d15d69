/*
 * nginx connector for Scepter: the shared memory of the metrics.
 *
 *   scepter_metrics;        location: the Prometheus metrics (text format)
 *
 * The counters live in one shared zone, "scepter_metrics", added whenever a
 * scepter_config is loaded: every worker counts into it, and a reload
 * (`nginx -s reload`) finds the zone again under the same name, size and tag,
 * so the counts go on. The core lays out and formats the block
 * (scepter_service_attach_metrics); this file only makes the zone and hands
 * the block to each loaded configuration, in the master, before fork.
 */
#include "ngx_http_scepter_module.h"

#define NGX_HTTP_SCEPTER_METRICS_ERR_LEN  256

static ngx_str_t  ngx_http_scepter_metrics_zone_name =
    ngx_string("scepter_metrics");


/*
 * Called by ngx_init_cycle in the master (start, reload). data is the old
 * cycle's zone data when the zone is kept: the block is then the one the
 * slab pool already holds. Otherwise the block is allocated from the new
 * zone's slab pool and the core formats it when attached.
 */
static ngx_int_t
ngx_http_scepter_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (data != NULL || shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    shpool->data = ngx_slab_alloc(shpool, scepter_metrics_size());
    if (shpool->data == NULL) {
        return NGX_ERROR;
    }

    shm_zone->data = shpool->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_scepter_metrics_zone_add(ngx_conf_t *cf, ngx_shm_zone_t **zone)
{
    size_t           size;
    ngx_shm_zone_t  *shm_zone;

    /* The block, plus the slab pool's own pages and bookkeeping; a whole
     * number of pages, the same for the same module, so a reload keeps it. */
    size = scepter_metrics_size() + 64 * ngx_pagesize;
    size = ngx_align(size, ngx_pagesize);

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_scepter_metrics_zone_name,
                                     size, &ngx_http_scepter_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_scepter_metrics_init_zone;
    *zone = shm_zone;

    return NGX_OK;
}


/* In the master, once the zones exist (init_module), before fork. */
ngx_int_t
ngx_http_scepter_metrics_attach(ngx_cycle_t *cycle, ngx_shm_zone_t *zone,
    scepter_service *svc, ngx_str_t *path)
{
    char  err[NGX_HTTP_SCEPTER_METRICS_ERR_LEN];

    if (zone == NULL || zone->data == NULL) {
        return NGX_OK;  /* nginx -t: no zone was mapped */
    }

    err[0] = '\0';
    if (!scepter_service_attach_metrics(svc, zone->data,
                                        scepter_metrics_size(),
                                        err, sizeof(err)))
    {
        err[sizeof(err) - 1] = '\0';
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      SCEPTER_ID_METRICS_NO_MEMORY " scepter_config \"%V\": "
                      "metrics: %s", path, err);
        /* Not fatal: SCEP goes on; the metrics location answers 503. */
    }

    return NGX_OK;
}
