/*
 * scripts/bench.d/mkreq.c: builds many distinct SCEP PKCSReq messages fast,
 * for scripts/bench. Not part of the product; compiled by the bench script
 * into the build directory (cc mkreq.c -lcrypto).
 *
 * Each message is a new enrollment, built the way a device builds one
 * (RFC 8894 §3.2, the same shape as tests/client's `request`):
 *   - a PKCS#10 CSR with a distinct subject (CN=bench-TAG-I, O=Scepter Bench)
 *     and the challengePassword, signed with SHA-256 by the device key;
 *   - enveloped (CMS EnvelopedData, RSA PKCS#1 v1.5 key transport) to the RA
 *     encryption certificate found in the GetCACert answer (the CA itself
 *     when the answer holds only the CA), with the chosen content cipher;
 *   - signed by a fresh self-signed certificate for the device key, subject
 *     = the CSR's subject, with transactionID (random, 64 hex digits),
 *     messageType 19 and a random 16-byte senderNonce.
 * Device keys are expensive: K RSA-2048 keys are generated and key I % K
 * signs message I. Subjects, transaction IDs and nonces are all distinct.
 *
 * Output in DIR:
 *   bodies.bin    the DER messages, back to back
 *   index.tsv     one line per message: i offset length txid nonce_hex key_file
 *   keys/key-K.pem (or --keydir DIR: kept across runs, only missing keys
 *                 are generated)
 *   spot/I.der, spot/I.signer.pem for the last --spot messages (these are
 *                 also in bodies.bin; the bench sends them apart, for
 *                 `scepter-testclient reply`)
 *
 * usage: mkreq --cacert FILE --challenge PW --count N --keys K --out DIR
 *              [--cipher aes128|aes192|aes256|des3] [--digest sha256|sha1|...]
 *              [--jobs J] [--tag TAG] [--spot S] [--keydir DIR]
 */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "mkreq: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static const char *opt_cacert, *opt_challenge, *opt_out, *opt_keydir, *opt_tag = "run";
static const char *opt_cipher = "aes128", *opt_digest = "sha256";
static long opt_count = 1000, opt_keys = 100, opt_jobs = 2, opt_spot = 8;
static int nid_txid, nid_msgtype, nid_nonce;

static void usage(void) {
    fprintf(stderr,
            "usage: mkreq --cacert FILE --challenge PW --count N --keys K --out DIR\n"
            "             [--cipher aes128|aes192|aes256|des3] [--digest sha256|sha1|sha384|sha512]\n"
            "             [--jobs J] [--tag TAG] [--spot S] [--keydir DIR]\n");
    exit(2);
}

/* ---- the GetCACert answer: DER cert, degenerate PKCS#7, or PEM ---- */
static STACK_OF(X509) *read_ca_certs(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open --cacert");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 65536;
            buf = realloc(buf, cap);
            if (!buf) die("out of memory");
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        if (n == 0) break;
        len += n;
    }
    fclose(f);
    STACK_OF(X509) *out = sk_X509_new_null();
    const unsigned char *p = buf;
    X509 *one = d2i_X509(NULL, &p, (long)len);
    if (one && p == buf + len) {
        sk_X509_push(out, one);
    } else {
        X509_free(one);
        p = buf;
        PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
        if (p7 && PKCS7_type_is_signed(p7) && p7->d.sign->cert) {
            for (int i = 0; i < sk_X509_num(p7->d.sign->cert); i++) {
                X509 *c = sk_X509_value(p7->d.sign->cert, i);
                X509_up_ref(c);
                sk_X509_push(out, c);
            }
        } else {
            BIO *b = BIO_new_mem_buf(buf, (int)len);
            X509 *c;
            while ((c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) sk_X509_push(out, c);
            BIO_free(b);
        }
        PKCS7_free(p7);
    }
    ERR_clear_error();
    free(buf);
    if (sk_X509_num(out) == 0) die("--cacert holds no certificate");
    return out;
}

/* RFC 8894 §3.2.1: the RA's encryption certificate, else the CA's own. */
static X509 *pick_recipient(STACK_OF(X509) *certs) {
    for (int i = 0; i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        uint32_t ku = X509_get_key_usage(c);
        if (!X509_check_ca(c) && ku != UINT32_MAX && (ku & KU_KEY_ENCIPHERMENT)) return c;
    }
    for (int i = 0; i < sk_X509_num(certs); i++)
        if (!X509_check_ca(sk_X509_value(certs, i))) return sk_X509_value(certs, i);
    return sk_X509_value(certs, 0);
}

static void hex(const unsigned char *in, size_t n, char *out) {
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void write_file(const char *path, const unsigned char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die(path);
}

static EVP_PKEY *load_key(long k) {
    char path[4096];
    snprintf(path, sizeof path, "%s/key-%ld.pem", opt_keydir, k);
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open a device key");
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key) die("cannot read a device key");
    return key;
}

static X509_REQ *make_csr(EVP_PKEY *key, long i, const EVP_MD *md) {
    char cn[256];
    snprintf(cn, sizeof cn, "bench-%s-%ld", opt_tag, i);
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_REQ_get_subject_name(req);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (unsigned char *)cn, -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (unsigned char *)"Scepter Bench", -1, -1, 0) ||
        !X509_REQ_set_pubkey(req, key) ||
        !X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword, MBSTRING_ASC,
                                   (const unsigned char *)opt_challenge, -1) ||
        X509_REQ_sign(req, key, md) <= 0)
        die("building the CSR");
    return req;
}

static X509 *make_signer(EVP_PKEY *key, X509_NAME *subject) {
    X509 *x = X509_new();
    unsigned char raw[12];
    if (RAND_bytes(raw, sizeof raw) != 1) die("RAND_bytes");
    raw[0] = (raw[0] & 0x7f) | 0x01;
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
        !X509_set_subject_name(x, subject) || !X509_set_issuer_name(x, subject) || !X509_set_pubkey(x, key) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 7L * 24 * 3600) || X509_sign(x, key, EVP_sha256()) <= 0)
        die("building the signer certificate");
    BN_free(bn);
    return x;
}

/* DER of the pkiMessage; *len set. */
static unsigned char *make_message(long i, EVP_PKEY *key, X509 *recipient, const EVP_CIPHER *cipher,
                                   const EVP_MD *md, int *len, char *txid_hex, char *nonce_hex, X509 **signer_out) {
    X509_REQ *req = make_csr(key, i, md);
    unsigned char *csr_der = NULL;
    int csr_len = i2d_X509_REQ(req, &csr_der);
    if (csr_len <= 0) die("i2d_X509_REQ");

    /* pkcsPKIEnvelope */
    STACK_OF(X509) *recips = sk_X509_new_null();
    sk_X509_push(recips, recipient);
    BIO *in = BIO_new_mem_buf(csr_der, csr_len);
    PKCS7 *env = PKCS7_encrypt(recips, in, cipher, PKCS7_BINARY);
    if (!env) die("PKCS7_encrypt");
    BIO_free(in);
    sk_X509_free(recips);
    unsigned char *env_der = NULL;
    int env_len = i2d_PKCS7(env, &env_der);
    if (env_len <= 0) die("i2d_PKCS7 (envelope)");
    PKCS7_free(env);

    /* the signed pkiMessage */
    X509 *signer = make_signer(key, X509_REQ_get_subject_name(req));
    unsigned char txid_raw[32], nonce[16];
    if (RAND_bytes(txid_raw, sizeof txid_raw) != 1 || RAND_bytes(nonce, sizeof nonce) != 1) die("RAND_bytes");
    hex(txid_raw, sizeof txid_raw, txid_hex);
    hex(nonce, sizeof nonce, nonce_hex);

    PKCS7 *p7 = PKCS7_new();
    if (!PKCS7_set_type(p7, NID_pkcs7_signed)) die("PKCS7_set_type");
    PKCS7_SIGNER_INFO *si = PKCS7_add_signature(p7, signer, key, md);
    if (!si || !PKCS7_add_certificate(p7, signer)) die("PKCS7_add_signature");
    ASN1_STRING *s_txid = ASN1_PRINTABLESTRING_new();
    ASN1_STRING *s_type = ASN1_PRINTABLESTRING_new();
    ASN1_OCTET_STRING *s_nonce = ASN1_OCTET_STRING_new();
    if (!ASN1_STRING_set(s_txid, txid_hex, -1) || !ASN1_STRING_set(s_type, "19", -1) ||
        !ASN1_OCTET_STRING_set(s_nonce, nonce, sizeof nonce))
        die("attributes");
    if (!PKCS7_add_signed_attribute(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data)) ||
        !PKCS7_add_signed_attribute(si, nid_txid, V_ASN1_PRINTABLESTRING, s_txid) ||
        !PKCS7_add_signed_attribute(si, nid_msgtype, V_ASN1_PRINTABLESTRING, s_type) ||
        !PKCS7_add_signed_attribute(si, nid_nonce, V_ASN1_OCTET_STRING, s_nonce))
        die("PKCS7_add_signed_attribute");
    if (!PKCS7_content_new(p7, NID_pkcs7_data)) die("PKCS7_content_new");
    BIO *bio = PKCS7_dataInit(p7, NULL);
    if (!bio || BIO_write(bio, env_der, env_len) != env_len || BIO_flush(bio) != 1) die("PKCS7_dataInit");
    if (!PKCS7_dataFinal(p7, bio)) die("PKCS7_dataFinal");
    BIO_free_all(bio);
    unsigned char *der = NULL;
    *len = i2d_PKCS7(p7, &der);
    if (*len <= 0) die("i2d_PKCS7 (message)");

    PKCS7_free(p7);
    OPENSSL_free(env_der);
    OPENSSL_free(csr_der);
    X509_REQ_free(req);
    if (signer_out) *signer_out = signer;
    else X509_free(signer);
    return der;
}

static void gen_keys(long job) {
    for (long k = job; k < opt_keys; k += opt_jobs) {
        char path[4096];
        snprintf(path, sizeof path, "%s/key-%ld.pem", opt_keydir, k);
        if (access(path, R_OK) == 0) continue;
        EVP_PKEY *key = EVP_RSA_gen(2048);
        if (!key) die("EVP_RSA_gen");
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (!f || !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0 ||
            rename(tmp, path) != 0)
            die(path);
        EVP_PKEY_free(key);
    }
}

static void gen_messages(long job, X509 *recipient, const EVP_CIPHER *cipher, const EVP_MD *md) {
    char path[4096];
    snprintf(path, sizeof path, "%s/part-%ld.bin", opt_out, job);
    FILE *bin = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/part-%ld.tsv", opt_out, job);
    FILE *tsv = fopen(path, "w");
    if (!bin || !tsv) die("cannot write a part file");
    EVP_PKEY **keys = calloc((size_t)opt_keys, sizeof *keys);
    for (long i = job; i < opt_count; i += opt_jobs) {
        long k = i % opt_keys;
        if (!keys[k]) keys[k] = load_key(k);
        int len = 0;
        char txid[65], nonce[33];
        int spot = i >= opt_count - opt_spot;
        X509 *signer = NULL;
        unsigned char *der = make_message(i, keys[k], recipient, cipher, md, &len, txid, nonce,
                                          spot ? &signer : NULL);
        if (fwrite(der, 1, (size_t)len, bin) != (size_t)len) die("write");
        fprintf(tsv, "%ld\t%d\t%s\t%s\t%s/key-%ld.pem\n", i, len, txid, nonce, opt_keydir, k);
        if (spot) {
            snprintf(path, sizeof path, "%s/spot/%ld.der", opt_out, i);
            write_file(path, der, (size_t)len);
            snprintf(path, sizeof path, "%s/spot/%ld.signer.pem", opt_out, i);
            FILE *f = fopen(path, "w");
            if (!f || !PEM_write_X509(f, signer) || fclose(f) != 0) die(path);
            X509_free(signer);
        }
        OPENSSL_free(der);
    }
    if (fclose(bin) != 0 || fclose(tsv) != 0) die("closing a part file");
}

/* Runs fn(job) in opt_jobs forked children; fails if any fails. */
static void in_parallel(void (*fn)(long, void *), void *arg) {
    pid_t pids[256];
    for (long j = 0; j < opt_jobs; j++) {
        pid_t p = fork();
        if (p < 0) die("fork");
        if (p == 0) {
            /* die with the parent (scripts/bench stops mkreq by its pid) */
            if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() == 1) _exit(1);
            fn(j, arg);
            fflush(NULL);
            _exit(0);
        }
        pids[j] = p;
    }
    int bad = 0;
    for (long j = 0; j < opt_jobs; j++) {
        int st = 0;
        if (waitpid(pids[j], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
    }
    if (bad) die("a worker failed");
}

struct msg_args {
    X509 *recipient;
    const EVP_CIPHER *cipher;
    const EVP_MD *md;
};

static void keys_job(long j, void *unused) {
    (void)unused;
    gen_keys(j);
}

static void msgs_job(long j, void *p) {
    struct msg_args *a = p;
    gen_messages(j, a->recipient, a->cipher, a->md);
}

/* part-J files hold messages J, J+jobs, ...: interleave them back into order. */
static void merge(void) {
    char path[4096];
    FILE *bins[256], *tsvs[256];
    for (long j = 0; j < opt_jobs; j++) {
        snprintf(path, sizeof path, "%s/part-%ld.bin", opt_out, j);
        bins[j] = fopen(path, "rb");
        snprintf(path, sizeof path, "%s/part-%ld.tsv", opt_out, j);
        tsvs[j] = fopen(path, "r");
        if (!bins[j] || !tsvs[j]) die("cannot read a part file");
    }
    snprintf(path, sizeof path, "%s/bodies.bin", opt_out);
    FILE *out = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/index.tsv", opt_out);
    FILE *idx = fopen(path, "w");
    if (!out || !idx) die("cannot write bodies.bin");
    long offset = 0;
    unsigned char *buf = malloc(1 << 20);
    for (long i = 0; i < opt_count; i++) {
        long j = i % opt_jobs, ii;
        int len;
        char txid[128], nonce[128], key[4096];
        if (fscanf(tsvs[j], "%ld\t%d\t%127s\t%127s\t%4095s\n", &ii, &len, txid, nonce, key) != 5 || ii != i ||
            len <= 0 || len > (1 << 20))
            die("part index is corrupt");
        if (fread(buf, 1, (size_t)len, bins[j]) != (size_t)len || fwrite(buf, 1, (size_t)len, out) != (size_t)len)
            die("copying a message");
        fprintf(idx, "%ld\t%ld\t%d\t%s\t%s\t%s\n", i, offset, len, txid, nonce, key);
        offset += len;
    }
    free(buf);
    if (fclose(out) != 0 || fclose(idx) != 0) die("closing bodies.bin");
    for (long j = 0; j < opt_jobs; j++) {
        fclose(bins[j]);
        fclose(tsvs[j]);
        snprintf(path, sizeof path, "%s/part-%ld.bin", opt_out, j);
        unlink(path);
        snprintf(path, sizeof path, "%s/part-%ld.tsv", opt_out, j);
        unlink(path);
    }
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--cacert")) opt_cacert = v;
        else if (!strcmp(a, "--challenge")) opt_challenge = v;
        else if (!strcmp(a, "--out")) opt_out = v;
        else if (!strcmp(a, "--keydir")) opt_keydir = v;
        else if (!strcmp(a, "--tag")) opt_tag = v;
        else if (!strcmp(a, "--cipher")) opt_cipher = v;
        else if (!strcmp(a, "--digest")) opt_digest = v;
        else if (!strcmp(a, "--count")) opt_count = atol(v);
        else if (!strcmp(a, "--keys")) opt_keys = atol(v);
        else if (!strcmp(a, "--jobs")) opt_jobs = atol(v);
        else if (!strcmp(a, "--spot")) opt_spot = atol(v);
        else usage();
    }
    if (!opt_cacert || !opt_challenge || !opt_out || opt_count < 1 || opt_keys < 1 || opt_jobs < 1 ||
        opt_jobs > 256 || opt_spot < 0 || opt_spot > opt_count)
        usage();
    if (opt_keys > opt_count) opt_keys = opt_count;

    const char *cname = !strcmp(opt_cipher, "aes128")   ? "AES-128-CBC"
                        : !strcmp(opt_cipher, "aes192") ? "AES-192-CBC"
                        : !strcmp(opt_cipher, "aes256") ? "AES-256-CBC"
                        : !strcmp(opt_cipher, "des3")   ? "DES-EDE3-CBC"
                                                        : NULL;
    const EVP_CIPHER *cipher = cname ? EVP_get_cipherbyname(cname) : NULL;
    const EVP_MD *md = EVP_get_digestbyname(opt_digest);
    if (!cipher || !md) usage();

    nid_msgtype = OBJ_create("2.16.840.1.113733.1.9.2", "scepMessageType", "SCEP messageType");
    nid_nonce = OBJ_create("2.16.840.1.113733.1.9.5", "scepSenderNonce", "SCEP senderNonce");
    nid_txid = OBJ_create("2.16.840.1.113733.1.9.7", "scepTransactionID", "SCEP transactionID");
    if (!nid_msgtype || !nid_nonce || !nid_txid) die("OBJ_create");

    char path[4096];
    if (mkdir(opt_out, 0755) != 0 && errno != EEXIST) die("cannot create --out");
    static char keydir[4096];
    if (!opt_keydir) {
        snprintf(keydir, sizeof keydir, "%s/keys", opt_out);
        opt_keydir = keydir;
    }
    if (mkdir(opt_keydir, 0700) != 0 && errno != EEXIST) die("cannot create the key directory");
    snprintf(path, sizeof path, "%s/spot", opt_out);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die("cannot create spot/");

    STACK_OF(X509) *certs = read_ca_certs(opt_cacert);
    struct msg_args ma = {pick_recipient(certs), cipher, md};

    /* Keys from an earlier run with the same --keydir are reused. */
    long missing = 0;
    for (long k = 0; k < opt_keys; k++) {
        snprintf(path, sizeof path, "%s/key-%ld.pem", opt_keydir, k);
        if (access(path, R_OK) != 0) missing++;
    }
    if (missing) in_parallel(keys_job, NULL);
    in_parallel(msgs_job, &ma);
    merge();
    sk_X509_pop_free(certs, X509_free);
    return 0;
}
