// `batch`: many distinct PKCSReq messages at once, for load tests
// (scripts/bench). Each is a new enrollment built like `request` builds one
// (a CSR with the challengePassword, enveloped to the RA, signed with a fresh
// self-signed certificate), with its own subject, transaction ID, nonce and
// signer. RSA-2048 device keys are expensive: K of them live in a key
// directory (made once, reused by later runs) and message I uses key I mod K.
#include "testclient.h"

#include <openssl/rand.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

namespace scepter::testclient {
namespace {

namespace fs = std::filesystem;

struct BatchOptions {
    X509* recipient = nullptr;
    std::string challenge;
    std::vector<std::string> challenges;  // --challenges: message I uses line I
    std::string tag;
    std::string keydir;
    ContentCipher cipher = ContentCipher::aes128;
    Digest digest = Digest::sha256;
    long count = 0;
    long keys = 0;
    long spot = 0;  // the last `spot` messages also go to spot/
    unsigned jobs = 1;
};

struct Built {
    Bytes der;
    std::string transaction_id;
    std::string sender_nonce_hex;
    std::string signer_pem;  // spot messages only
};

long parse_count(const Args& args, const std::string& name, long fallback, long min) {
    std::string s = args.get(name, std::to_string(fallback));
    try {
        std::size_t used = 0;
        long v = std::stol(s, &used);
        if (used == s.size() && v >= min) return v;
    } catch (const std::exception&) {
    }
    throw UsageError("--" + name + " must be a number >= " + std::to_string(min) + ", not '" + s + "'");
}

// One challenge per line (`scepter challenge --count N`), at least `count`.
std::vector<std::string> read_challenges(const std::string& path, long count) {
    std::ifstream in(path);
    if (!in) throw UsageError("cannot read --challenges " + path);
    std::vector<std::string> out;
    for (std::string line; out.size() < std::size_t(count) && std::getline(in, line);) {
        if (!line.empty()) out.push_back(line);
    }
    if (out.size() < std::size_t(count))
        throw UsageError("--challenges " + path + " holds " + std::to_string(out.size()) + " challenges, not " +
                         std::to_string(count));
    return out;
}

std::string key_path(const BatchOptions& o, long k) { return o.keydir + "/key-" + std::to_string(k) + ".pem"; }

// Written under a temporary name and renamed: an interrupted run leaves no
// half key behind for the next one.
void make_missing_keys(const BatchOptions& o) {
    in_parallel(o.jobs, [&](unsigned job) {
        for (long k = job; k < o.keys; k += o.jobs) {
            std::string path = key_path(o, k);
            if (fs::exists(path)) continue;
            ossl::PKey key(EVP_RSA_gen(2048));
            if (!key) throw_openssl("EVP_RSA_gen");
            write_text(path + ".tmp", private_key_to_pem(key.get()));
            fs::rename(path + ".tmp", path);
        }
    });
}

// Transaction IDs are random: keys are shared between messages, so the
// usual one (a hash of the public key) would repeat.
Built build_one(const BatchOptions& o, long i, EVP_PKEY* key, OSSL_LIB_CTX* libctx) {
    ossl::X509Req csr = make_csr(key, o.tag + "-" + std::to_string(i),
                                   o.challenges.empty() ? o.challenge : o.challenges[std::size_t(i)]);
    ossl::X509Ptr signer = make_signer(key, X509_REQ_get_subject_name(csr.get()), false);
    Bytes envelope = seal_envelope(csr_der(csr.get()), {o.recipient}, o.cipher, false, libctx);

    unsigned char txid[32];
    if (RAND_bytes(txid, sizeof txid) != 1) throw_openssl("RAND_bytes");
    ScepAttributes attrs;
    attrs.transaction_id = to_hex(txid, sizeof txid);
    attrs.message_type = 19;  // PKCSReq
    attrs.sender_nonce = make_nonce();

    Built b;
    b.der = write_signed_message(envelope, attrs, signer.get(), key, o.digest);
    b.transaction_id = attrs.transaction_id;
    b.sender_nonce_hex = to_hex(attrs.sender_nonce);
    if (i >= o.count - o.spot) b.signer_pem = cert_to_pem(signer.get());
    return b;
}

// Job j builds messages j, j + jobs, ...; each thread loads the keys it uses.
std::vector<Built> build_all(const BatchOptions& o) {
    std::vector<Built> built(static_cast<std::size_t>(o.count));
    in_parallel(o.jobs, [&](unsigned job) {
        LegacyContext libctx;
        std::vector<ossl::PKey> keys(static_cast<std::size_t>(o.keys));
        for (long i = job; i < o.count; i += o.jobs) {
            ossl::PKey& key = keys[static_cast<std::size_t>(i % o.keys)];
            if (!key) key = read_private_key(key_path(o, i % o.keys));
            built[static_cast<std::size_t>(i)] = build_one(o, i, key.get(), libctx.get());
        }
    });
    return built;
}

void write_outputs(const BatchOptions& o, const std::string& out, const std::vector<Built>& built) {
    std::ofstream bodies(out + "/bodies.bin", std::ios::binary | std::ios::trunc);
    std::ofstream index(out + "/index.tsv", std::ios::trunc);
    std::size_t offset = 0;
    for (long i = 0; i < o.count; ++i) {
        const Built& b = built[static_cast<std::size_t>(i)];
        bodies.write(reinterpret_cast<const char*>(b.der.data()), static_cast<std::streamsize>(b.der.size()));
        index << i << '\t' << offset << '\t' << b.der.size() << '\t' << b.transaction_id << '\t'
              << b.sender_nonce_hex << '\t' << key_path(o, i % o.keys) << '\n';
        offset += b.der.size();
        if (!b.signer_pem.empty()) {
            std::string base = out + "/spot/" + std::to_string(i);
            write_file(base + ".der", b.der);
            write_text(base + ".signer.pem", b.signer_pem);
        }
    }
    bodies.close();
    index.close();
    if (!bodies || !index) throw std::runtime_error("cannot write " + out + "/bodies.bin or index.tsv");
}

}  // namespace

int run_batch(const Args& args) {
    std::vector<ossl::X509Ptr> ca_certs = read_ca_certs(args.require("cacert"));
    std::string out = args.require("out");
    BatchOptions o;
    o.count = parse_count(args, "count", 0, 1);
    if (args.has("challenges")) {
        o.challenges = read_challenges(args.require("challenges"), o.count);
    } else {
        o.challenge = args.require("challenge");
    }
    o.keys = std::min(parse_count(args, "keys", 100, 1), o.count);
    o.spot = parse_count(args, "spot", 0, 0);
    if (o.spot > o.count) throw UsageError("--spot must not exceed --count");
    unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    o.jobs = static_cast<unsigned>(std::min(parse_count(args, "jobs", cpus, 1), 256L));
    o.tag = args.get("tag", "batch");
    o.keydir = args.get("keydir", out + "/keys");
    o.cipher = parse_cipher(args.get("cipher", "aes128"));
    o.digest = parse_digest(args.get("digest", "sha256"));
    ossl::X509Ptr unused;
    o.recipient = pick_recipients(ca_certs, "auto", unused).front();

    fs::create_directories(out + "/spot");
    fs::create_directories(o.keydir);
    fs::permissions(o.keydir, fs::perms::owner_all);
    make_missing_keys(o);
    write_outputs(o, out, build_all(o));
    std::cout << "{\"messages\":" << o.count << ",\"keys\":" << o.keys << ",\"out\":" << json_quote(out)
              << "}\n";
    return 0;
}

}  // namespace scepter::testclient
