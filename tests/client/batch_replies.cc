// `batch-replies`: the CertReps a server gave to the messages of a `batch`
// run, read in one process (a load test has thousands; one `reply` process
// each would take longer than the load). Each is checked as `reply` checks
// one: the signature, the transactionID and recipientNonce against the
// request, the signer against the CA, and on SUCCESS the certificate for the
// device key inside. The batch keeps no signer certificates, so the envelope
// is opened with the key alone (CMS tries every recipient).
#include "testclient.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

namespace scepter::testclient {
namespace {

struct Sent {  // a line of the batch's index.tsv
    std::string transaction_id;
    Bytes sender_nonce;
    std::string key_file;
};

struct Received {  // a line of the replies' index.tsv: message i, its reply's place
    long i = 0;
    std::size_t offset = 0;
    std::size_t length = 0;
};

std::vector<Sent> read_batch_index(const std::string& dir) {
    std::ifstream in(dir + "/index.tsv");
    if (!in) throw std::runtime_error("cannot read " + dir + "/index.tsv");
    std::vector<Sent> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        long i;
        std::size_t offset, length;
        std::string nonce;
        Sent s;
        if (!(f >> i >> offset >> length >> s.transaction_id >> nonce >> s.key_file) || i != long(out.size()))
            throw std::runtime_error(dir + "/index.tsv: bad line '" + line + "'");
        s.sender_nonce = parse_hex(nonce);
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<Received> read_replies_index(const std::string& dir, std::size_t messages) {
    std::ifstream in(dir + "/index.tsv");
    if (!in) throw std::runtime_error("cannot read " + dir + "/index.tsv");
    std::vector<Received> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        Received r;
        if (!(f >> r.i >> r.offset >> r.length) || r.i < 0 || std::size_t(r.i) >= messages)
            throw std::runtime_error(dir + "/index.tsv: bad line '" + line + "'");
        out.push_back(r);
    }
    return out;
}

// One JSON object, without its closing brace: what `reply` prints, with
// transaction_id_ok, or {"error"} when the reply is no valid CertRep.
std::string check_one(const Bytes& der, const Sent& sent, EVP_PKEY* key, const std::vector<ossl::X509Ptr>& ca,
                      OSSL_LIB_CTX* libctx) {
    SignedMessage msg;
    try {
        msg = read_signed_message(der);
    } catch (const std::exception& e) {
        return ",\"error\":" + json_quote(e.what());
    }
    const ScepAttributes& a = msg.attrs;
    std::ostringstream json;
    json << ",\"status\":" << json_quote(a.status ? to_string(*a.status) : "NONE")
         << ",\"fail_info\":" << (a.fail_info ? json_quote(to_string(*a.fail_info)) : "null")
         << ",\"fail_info_text\":" << json_quote(a.fail_info_text)
         << ",\"transaction_id_ok\":" << (a.transaction_id == sent.transaction_id ? "true" : "false")
         << ",\"recipient_nonce_ok\":" << (a.recipient_nonce == sent.sender_nonce ? "true" : "false")
         << ",\"signer_trusted\":" << (chains_to(msg.signer.get(), ca) ? "true" : "false");
    if (a.status == PkiStatus::success) {
        try {
            Bytes inner = open_envelope(msg.content, {{nullptr, key}}, libctx);
            json << issued_json(extract_issued(inner, key, false));
        } catch (const std::exception& e) {
            json << ",\"error\":" << json_quote(e.what());
        }
    }
    return json.str();
}

}  // namespace

int run_batch_replies(const Args& args) {
    std::string batch = args.require("batch");
    std::string replies = args.require("replies");
    std::vector<ossl::X509Ptr> ca = read_ca_certs(args.require("ca"));
    std::vector<Sent> sent = read_batch_index(batch);
    std::vector<Received> received = read_replies_index(replies, sent.size());
    Bytes bodies = read_file(replies + "/bodies.bin");
    for (const Received& r : received)
        if (r.offset > bodies.size() || r.length > bodies.size() - r.offset)
            throw std::runtime_error(replies + "/index.tsv: reply " + std::to_string(r.i) + " lies outside bodies.bin");
    unsigned jobs = std::max(1u, std::thread::hardware_concurrency());

    std::vector<std::string> out(received.size());
    in_parallel(jobs, [&](unsigned job) {
        LegacyContext libctx;
        std::map<std::string, ossl::PKey> keys;  // the batch reuses a few keys
        for (std::size_t n = job; n < received.size(); n += jobs) {
            const Received& r = received[n];
            const Sent& s = sent[std::size_t(r.i)];
            ossl::PKey& key = keys[s.key_file];
            if (!key) key = read_private_key(s.key_file);
            Bytes der(bodies.begin() + long(r.offset), bodies.begin() + long(r.offset + r.length));
            out[n] = "{\"i\":" + std::to_string(r.i) + check_one(der, s, key.get(), ca, libctx.get()) + "}\n";
        }
    });
    for (const std::string& line : out) std::cout << line;
    return 0;
}

}  // namespace scepter::testclient
