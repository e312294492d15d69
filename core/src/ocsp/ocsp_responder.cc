#include "ocsp/ocsp_responder.h"

#include "scepter/cert_serial.h"
#include "scepter/log_ids.h"
#include "scepter/openssl_error.h"
#include "scepter/text.h"
#include "util/digest_hex.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace scepter {
namespace {

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
               .count() + 1;  // never 0, which means "never looked"
}

}  // namespace

std::string http_date(std::int64_t t) {
    static const char* const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t tt = std::time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                  months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

Response ocsp_http_response(const Bytes& der, const CachedOcsp* cacheable, std::int64_t now) {
    Response r;
    r.status = 200;
    r.content_type = "application/ocsp-response";
    r.body = der;
    if (cacheable == nullptr) {
        r.headers.emplace_back("Cache-Control", "no-store");  // a nonce's answer is for one request
        return r;
    }
    std::int64_t max_age = std::max<std::int64_t>(0, cacheable->next_update - now);
    r.headers.emplace_back("Cache-Control",
                           "max-age=" + std::to_string(max_age) + ", public, no-transform, must-revalidate");
    r.headers.emplace_back("Last-Modified", http_date(cacheable->this_update));
    r.headers.emplace_back("Expires", http_date(cacheable->next_update));
    r.headers.emplace_back("ETag", "\"" + cacheable->etag + "\"");
    return r;
}

OcspResponder::OcspResponder(const Config& cfg, const CaMaterial& ca)
    : cfg_(cfg.ocsp), ca_(ca.ca), cache_(cfg.ocsp.cache_entries) {
    clear_openssl_errors();
    for (const EVP_MD* md : {EVP_sha1(), EVP_sha256(), EVP_sha384(), EVP_sha512()}) {
        ossl::OcspCertId id(OCSP_cert_to_id(md, nullptr, ca_.cert.get()));
        check(id != nullptr, "OCSP_cert_to_id");
        ca_ids_.push_back(std::move(id));
    }
    if (cfg.ocsp.responder) signer_ = std::make_shared<const OcspSigner>(load_ocsp_signer(cfg, ca_));
}

bool OcspResponder::ours(OCSP_CERTID* id) const {
    for (const auto& mine : ca_ids_)
        if (OCSP_id_issuer_cmp(mine.get(), id) == 0) return true;
    return false;  // another issuer, or a hash we do not name the CA with
}

CertStatus OcspResponder::status_of(const OcspQuery::Item& item, Store& store) const {
    CertStatus s;
    if (!ours(item.id)) return s;
    auto cert = store.find_cert(item.serial_hex);
    // find_cert also takes thumbprints: the record must carry this very serial.
    if (!cert || cert->serial_hex != item.serial_hex) return s;
    if (cert->status == "revoked") {
        s.state = CertState::revoked;
        s.revoked_at = cert->revoked_at;
        s.reason = cert->revocation_reason;
    } else {
        s.state = CertState::good;
    }
    return s;
}

bool OcspResponder::revocations_fresh() const {
    std::int64_t at = looked_at_ms_.load(std::memory_order_acquire);
    return at != 0 && steady_ms() - at < cfg_.revocation_check_ms;
}

void OcspResponder::look_at_revocations(Store& store) {
    std::lock_guard<std::mutex> lock(revocations_mutex_);
    if (revocations_fresh()) return;  // another thread just did
    std::int64_t count = store.revocation_count();
    if (revocation_count_ >= 0 && count != revocation_count_) {
        std::set<std::string> serials;
        for (const auto& r : store.list_revoked()) serials.insert(r.serial_hex);
        cache_.revoked(serials);
    }
    revocation_count_ = count;
    looked_at_ms_.store(steady_ms(), std::memory_order_release);
}

std::shared_ptr<const OcspSigner> OcspResponder::current_signer() const {
    std::lock_guard<std::mutex> lock(signer_mutex_);
    return signer_;
}

std::shared_ptr<const OcspSigner> OcspResponder::signer(std::int64_t now, Response& r) {
    std::lock_guard<std::mutex> lock(signer_mutex_);
    if (cfg_.responder) {
        if (signer_->not_after <= now)
            throw std::runtime_error("the responder certificate of ocsp.responder_cert has expired");
        return signer_;
    }
    if (signer_ && now < signer_->renew_at) return signer_;
    auto fresh = std::make_shared<const OcspSigner>(
        issue_ocsp_signer(ca_, cfg_.responder_validity_hours, cfg_.next_update_hours));
    r.log(SCEPTER_LOG_INFO, SCEPTER_ID_OCSP_SIGNER_ISSUED,
          "OCSP responder certificate issued for process " + std::to_string(getpid()) + ": serial " +
              serial_hex(X509_get0_serialNumber(fresh->pair.cert.get())) + ", valid until " +
              iso8601_utc(fresh->not_after) + " (its key is in this process's memory only)");
    signer_ = fresh;
    return signer_;
}

std::optional<Response> OcspResponder::cached(const OcspQuery& q, std::int64_t now) const {
    if (!q.cacheable() || !revocations_fresh()) return std::nullopt;
    auto hit = cache_.find(q.items[0].key, now);
    if (!hit) return std::nullopt;
    return ocsp_http_response(hit->der, hit.get(), now);
}

Response OcspResponder::answer(const OcspQuery& q, Store& store, std::int64_t now) {
    look_at_revocations(store);
    if (q.cacheable()) {
        if (auto hit = cache_.find(q.items[0].key, now)) return ocsp_http_response(hit->der, hit.get(), now);
    }
    std::uint64_t generation = cache_.generation();  // before any status is read
    std::vector<CertStatus> statuses;
    for (const auto& item : q.items) statuses.push_back(status_of(item, store));
    Response r;  // carries the signer's log line, if one was issued
    auto s = signer(now, r);
    SignedOcsp signed_response = sign_ocsp_response(q, statuses, *s, cfg_.next_update_hours, now);
    Response out;
    // An unknown serial is not kept: anyone can ask about any number.
    if (q.cacheable() && statuses[0].state != CertState::unknown) {
        auto entry = std::make_shared<CachedOcsp>();
        entry->der = std::move(signed_response.der);
        entry->this_update = signed_response.this_update;
        entry->next_update = signed_response.next_update;
        entry->etag = digest_hex(std::string(entry->der.begin(), entry->der.end()), EVP_sha256()).substr(0, 32);
        entry->serial_hex = q.items[0].serial_hex;
        entry->revoked = statuses[0].state == CertState::revoked;
        out = ocsp_http_response(entry->der, entry.get(), now);
        cache_.insert(q.items[0].key, std::move(entry), generation);
    } else {
        out = ocsp_http_response(signed_response.der, nullptr, now);
    }
    out.logs = std::move(r.logs);
    return out;
}

}  // namespace scepter
