// The OCSP responder of one configuration generation in one process: which
// certificates are ours, their status from the store, the signer, and the
// cache of responses to requests without a nonce.
//
// Two speeds: cached() answers from memory and may run on nginx's event
// loop; answer() may read the store, issue a responder certificate and
// sign, so it runs where blocking is allowed. A cached response is served
// only while this process looked at the store's revocations less than
// ocsp.revocation_check_ms ago; past that the request goes the slow way,
// which looks again first (one count query), so a revocation made anywhere
// reaches every worker's answers within that time.
#pragma once

#include "ca/ca_material.h"
#include "ca/ocsp_signer.h"
#include "codec/response.h"
#include "ocsp/ocsp_cache.h"
#include "ocsp/ocsp_request.h"
#include "ocsp/ocsp_response.h"
#include "scepter/config.h"
#include "scepter/store.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace scepter {

class OcspResponder {
   public:
    // Configuration time: the CA's CertIDs, the admin's responder pair when
    // configured (ConfigError when it does not fit). Issues nothing yet.
    OcspResponder(const Config& cfg, const CaMaterial& ca);

    // The cached answer, or nullopt when answer() must run. Never blocks
    // (a mutex held for a map lookup aside).
    std::optional<Response> cached(const OcspQuery& q, std::int64_t now) const;

    // The full answer: revocations looked at, statuses from the store, a
    // signature (and a responder certificate when none is valid). Throws
    // StoreError and OpenSSL failures for the caller to turn into a status.
    Response answer(const OcspQuery& q, Store& store, std::int64_t now);

    // For the tests: the cache and the signer as they stand.
    const OcspCache& cache() const { return cache_; }
    std::shared_ptr<const OcspSigner> current_signer() const;

   private:
    bool ours(OCSP_CERTID* id) const;
    CertStatus status_of(const OcspQuery::Item& item, Store& store) const;
    void look_at_revocations(Store& store);
    std::shared_ptr<const OcspSigner> signer(std::int64_t now, Response& r);
    bool revocations_fresh() const;

    const OcspConfig cfg_;
    const KeyPair& ca_;                         // the generation's, which outlives this
    std::vector<ossl::OcspCertId> ca_ids_;      // the CA as SHA-1, SHA-256, SHA-384 and SHA-512 CertIDs name it
    OcspCache cache_;
    mutable std::mutex signer_mutex_;
    std::shared_ptr<const OcspSigner> signer_;  // the admin's, or the one this process issued itself
    std::mutex revocations_mutex_;              // one thread at a time reads the store's count
    std::int64_t revocation_count_ = -1;        // -1: not looked at yet
    std::atomic<std::int64_t> looked_at_ms_{0}; // steady clock; 0: never
};

// The HTTP answer carrying an OCSPResponse: 200, application/ocsp-response,
// and for a cacheable one RFC 5019 §6.2's headers (max-age up to nextUpdate,
// Last-Modified thisUpdate, Expires nextUpdate, an ETag); no-store otherwise.
Response ocsp_http_response(const Bytes& der, const CachedOcsp* cacheable, std::int64_t now);

// RFC 7231's IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), whatever the locale.
std::string http_date(std::int64_t unix_seconds);

}  // namespace scepter
