/*
 * tests/bench/coredrive.c: the Scepter core without a web server, for
 * scripts/bench (the "core only" row) and for profilers (callgrind, perf).
 *
 *   scepter-coredrive CONFIG.yaml BODIES INDEX [PROFILE] [MAX]
 *
 * Loads CONFIG as a worker would (scepter_service_load + worker_init), then
 * hands every message of INDEX (`scepter-testclient batch`'s index.tsv:
 * i offset length ...) from BODIES to scepter_handle() as a POST
 * PKIOperation, one after the other on this thread, and prints one JSON
 * line: messages, HTTP 200 answers, CertReps whose pkiStatus is SUCCESS, and
 * the process CPU time (getrusage) of the loop alone. COREDRIVE_DEBUG=1
 * prints the first answer's status (and text).
 *
 * CMake target scepter-coredrive (BUILD/scepter-coredrive). Under a
 * profiler: perf record --call-graph dwarf BUILD/scepter-coredrive ..., then
 * scripts/bench.d/perf-attrib.py perf.data.
 */
#include <scepter/capi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static scepter_str str(const char *s) {
    scepter_str r = {s, strlen(s)};
    return r;
}

/* pkiStatus attribute: OID 2.16.840.1.113733.1.9.3, SET of PrintableString */
static const unsigned char PKI_STATUS[] = {0x06, 0x0a, 0x60, 0x86, 0x48, 0x01, 0x86, 0xf8,
                                           0x45, 0x01, 0x09, 0x03, 0x31, 0x03, 0x13, 0x01};

static int is_success(const unsigned char *b, size_t n) {
    for (size_t i = 0; i + sizeof PKI_STATUS < n; i++)
        if (memcmp(b + i, PKI_STATUS, sizeof PKI_STATUS) == 0) return b[i + sizeof PKI_STATUS] == '0';
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: coredrive CONFIG.yaml BODIES INDEX [PROFILE] [MAX]\n");
        return 2;
    }
    const char *profile = argc > 4 && argv[4][0] ? argv[4] : "default";
    long max = argc > 5 ? atol(argv[5]) : -1;

    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)size);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) { perror("read"); return 1; }
    fclose(f);
    FILE *idx = fopen(argv[3], "r");
    if (!idx) { perror(argv[3]); return 1; }

    char err[1024] = "";
    scepter_service *svc = scepter_service_load(argv[1], err, sizeof err);
    if (!svc) { fprintf(stderr, "load: %s\n", err); return 1; }
    if (scepter_service_worker_init(svc, err, sizeof err) != 0) { fprintf(stderr, "worker_init: %s\n", err); return 1; }

    scepter_request req;
    memset(&req, 0, sizeof req);
    req.method = str("POST");
    req.path = str("/scep");
    req.query = str("operation=PKIOperation");
    req.content_type = str("application/x-pki-message");
    req.client_ip = str("127.0.0.1");
    req.user_agent = str("coredrive");
    req.profile = str(profile);

    long n = 0, ok200 = 0, success = 0, i, off;
    int len;
    char line[512];
    double c0 = cpu_seconds(), w0 = wall_seconds();
    while ((max < 0 || n < max) && fgets(line, sizeof line, idx)) {
        if (sscanf(line, "%ld\t%ld\t%d", &i, &off, &len) != 3 || off < 0 || off + len > size) continue;
        req.body = data + off;
        req.body_len = (size_t)len;
        scepter_response *resp = scepter_handle(svc, &req, 1);
        n++;
        if (n == 1 && getenv("COREDRIVE_DEBUG")) { /* why does nothing succeed? */
            int text = resp && resp->content_type && !strncmp(resp->content_type, "text", 4);
            fprintf(stderr, "first answer: status %d %.*s\n", resp ? resp->status : -1,
                    text ? (int)resp->body_len : 0, text ? (const char *)resp->body : "");
        }
        if (resp && resp->status == 200) {
            ok200++;
            success += is_success(resp->body, resp->body_len);
        }
        scepter_response_free(resp);
    }
    double c1 = cpu_seconds(), w1 = wall_seconds();
    printf("{\"messages\":%ld,\"http200\":%ld,\"success\":%ld,\"cpu_seconds\":%.3f,\"wall_seconds\":%.3f,"
           "\"cpu_ms_per_enrollment\":%.3f}\n",
           n, ok200, success, c1 - c0, w1 - w0, success ? 1000 * (c1 - c0) / success : 0.0);
    scepter_service_free(svc);
    fclose(idx);
    free(data);
    return 0;
}
