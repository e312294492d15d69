/*
 * Apache httpd connector for Scepter: the shared memory of the metrics.
 *
 *   SetHandler scepter-metrics       the Prometheus metrics (text format)
 *
 * The counters live in one anonymous shared memory segment, made once by the
 * parent and kept in its process pool through ap_retained_data: a graceful
 * (or plain) restart clears pconf, not the process pool, so the segment and
 * its counts survive, and every child (forked from the parent, old
 * generation or new) maps it at the same place. The core lays out and
 * formats the block (scepter_service_attach_metrics); this file only makes
 * the segment and finds it again.
 */
#include "mod_scepter.h"

#include <http_log.h>
#include <apr_shm.h>

APLOG_USE_MODULE(scepter);

#define SCEPTER_METRICS_KEY  "scepter-metrics-shm"

typedef struct {
    apr_shm_t  *shm;
} scepter_metrics_kept;

void *scepter_metrics_memory(server_rec *s)
{
    scepter_metrics_kept *kept = ap_retained_data_get(SCEPTER_METRICS_KEY);
    apr_status_t rv;

    if (kept == NULL) {
        kept = ap_retained_data_create(SCEPTER_METRICS_KEY, sizeof(*kept));
    }
    if (kept->shm == NULL) {
        /* anonymous: inherited by fork, nothing left behind on disk */
        rv = apr_shm_create(&kept->shm, scepter_metrics_size(), NULL, s->process->pool);
        if (rv != APR_SUCCESS) {
            kept->shm = NULL;
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, SCEPTER_ID_METRICS_NO_MEMORY
                         " scepter: cannot create the metrics' shared memory (%" APR_SIZE_T_FMT
                         " bytes); the metrics location answers 503", scepter_metrics_size());
            return NULL;
        }
    }
    /* A module upgraded to a larger layout under a graceful restart: the
     * segment cannot grow while children use it; a full stop and start can. */
    if (apr_shm_size_get(kept->shm) < scepter_metrics_size()) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, SCEPTER_ID_METRICS_NO_MEMORY
                     " scepter: the metrics' shared memory is smaller than this module needs; "
                     "stop and start httpd to make it anew");
        return NULL;
    }
    return apr_shm_baseaddr_get(kept->shm);
}
