#!/usr/bin/python3
"""scripts/bench.d/perf-attrib.py PERF.DATA [TOP]

Where the CPU of a Scepter process goes, from a `perf record --call-graph
dwarf` profile (scripts/bench --perf, or scepter-coredrive under perf). Reads
`perf script` and prints, as shares of all samples:

  1. cost classes: each sample goes to the first class whose marker is on
     its stack (RSA private-key math, OpenSSL key decoders/encoders,
     algorithm fetches, SQLite, audit log, ...), else to its leaf's library;
  2. the innermost scepter:: (or ngx_) function on each stack: what each
     step of an enrollment costs, everything it calls included;
  3. for the classes that are pure overhead (decoders, encoders, fetches),
     which scepter:: function leads to them.

Standard library only.
"""

import collections
import subprocess
import sys

# (class, markers): the first class with a marker on the stack wins, so the
# specific ones come first.
CLASSES = [
    ("RSA private-key op (the crypto floor)", ("BN_mod_exp_mont_consttime", "rsa_ossl_private_", "RSA_private_",
                                               "rsa_ossl_mod_exp")),
    ("RSA public-key op", ("rsa_ossl_public_", "RSA_public_", "BN_mod_exp_mont")),
    ("RSA key generation", ("RSA_generate", "rsa_keygen")),
    ("OpenSSL key decoder (OSSL_DECODER: d2i of keys, X509_get_pubkey)", ("OSSL_DECODER_",)),
    ("OpenSSL key encoder (OSSL_ENCODER: i2d of keys, X509_PUBKEY_set)", ("OSSL_ENCODER_",)),
    ("OpenSSL algorithm fetch (EVP_*_fetch, namemap, method store)", ("EVP_MD_fetch", "EVP_CIPHER_fetch",
                                                                       "evp_generic_fetch", "inner_evp_generic_fetch",
                                                                       "ossl_method_store_", "ossl_namemap_",
                                                                       "EVP_KEYMGMT_fetch", "EVP_SIGNATURE_fetch",
                                                                       "EVP_ASYM_CIPHER_fetch", "evp_keymgmt_util_",
                                                                       "EVP_PKEY_CTX_new_from_", "int_ctx_new")),
    ("SQLite store", ("sqlite3",)),
    ("audit log", ("AuditLog",)),
    ("random numbers", ("RAND_bytes", "RAND_priv_bytes", "drbg_", "ossl_prov_drbg")),
    ("digests/ciphers (hashing, AES)", ("sha256_block", "sha512_block", "SHA256_", "SHA512_", "aesni_", "aes_",
                                        "EVP_DigestUpdate", "EVP_DecryptUpdate", "EVP_EncryptUpdate")),
    ("ASN.1 encode/decode", ("ASN1_item_", "asn1_item_", "asn1_template_", "ASN1_", "asn1_")),
]
LEAF_CLASSES = [
    ("locks (pthread_rwlock, CRYPTO_THREAD_*)", ("pthread_rwlock", "CRYPTO_THREAD_", "pthread_mutex", "futex")),
    ("malloc/free", ("malloc", "free", "_int_", "realloc", "calloc", "CRYPTO_malloc", "CRYPTO_free", "operator new",
                     "operator delete", "unlink_chunk", "malloc_consolidate")),
]


def frames_of(text):
    """Yields one list of (sym, dso) per sample, leaf first."""
    cur = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            if cur:
                yield cur
            cur = []
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        dso = ""
        if rest.endswith(")") and " (" in rest:
            rest, dso = rest.rsplit(" (", 1)
            dso = dso[:-1]
        cur.append((rest.strip(), dso.rsplit("/", 1)[-1]))
    if cur:
        yield cur


def classify(stack):
    syms = [s for s, _ in stack]
    for name, markers in CLASSES:
        if any(m in s for s in syms for m in markers):
            return name
    leaf, dso = stack[0]
    if dso.startswith("libcrypto") and all(d.startswith("libcrypto") or d in ("", "[unknown]") for _, d in stack) and \
            not any(s and not s.startswith("0x") and s != "[unknown]" for s, _ in stack):
        # perf could not unwind out of OpenSSL's hand-written assembly: in a
        # Scepter server that is the RSA bignum code (on AVX-512 IFMA CPUs,
        # ossl_rsaz_amm52x20_*, i.e. the private-key operations).
        return "libcrypto assembly, stack not unwound (in practice RSA private-key math)"
    for name, markers in LEAF_CLASSES:
        if any(m in leaf for m in markers):
            return name
    if dso.startswith("[kernel"):
        return "kernel (syscalls, page faults, scheduling)"
    return f"other in {dso or '?'}"


def fname(s):
    """A frame's function name without its argument list."""
    return s.replace("(anonymous namespace)", "{anon}").split("(")[0]


def owner(stack):
    for s, _ in stack:
        if s.startswith("scepter::") or s.startswith("scepter_") or s.startswith("ngx_"):
            return fname(s)
    return "(no scepter/nginx frame)"


def main():
    data = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    text = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym,dso"], capture_output=True,
                          text=True, errors="replace").stdout
    stacks = [s for s in frames_of(text)]
    n = len(stacks)
    if n == 0:
        print("no samples")
        return
    cls = collections.Counter()
    own = collections.Counter()
    overhead_by_owner = collections.defaultdict(collections.Counter)
    inclusive = collections.Counter()
    for st in stacks:
        c = classify(st)
        cls[c] += 1
        own[owner(st)] += 1
        if c.startswith("OpenSSL key") or c.startswith("OpenSSL algorithm"):
            overhead_by_owner[c][owner(st)] += 1
        seen = set()
        for s, _ in st:
            f = fname(s)
            if (f.startswith("scepter::") or f.startswith("ngx_")) and f not in seen:
                seen.add(f)
                inclusive[f] += 1
    pct = lambda k: f"{100.0 * k / n:6.2f}%"
    print(f"# {n} samples")
    print("\n## cost classes (first marker on the stack wins)")
    for c, k in cls.most_common():
        print(f"{pct(k)}  {c}")
    print("\n## innermost scepter::/ngx_ function on the stack (self + callees outside our code)")
    for c, k in own.most_common(top):
        print(f"{pct(k)}  {c}")
    print("\n## scepter::/ngx_ functions, inclusive")
    for c, k in inclusive.most_common(top):
        print(f"{pct(k)}  {c}")
    for c, owners in overhead_by_owner.items():
        print(f"\n## {c}: reached from")
        for o, k in owners.most_common(10):
            print(f"{pct(k)}  {o}")


if __name__ == "__main__":
    main()
