// copy_store: one store into another through the Store interface only, so
// any backend can be the source or the target (`scepter store migrate`).
#include "scepter/store.h"

#include <cstdint>

namespace scepter {
namespace {

constexpr std::size_t kAll = SIZE_MAX;

// The issuance's own transaction, as the source recorded it when it still
// has it; a plain success record otherwise.
TransactionRecord issuance_record(Store& from, const IssuedCert& cert) {
    TransactionRecord tx;
    if (auto found = from.find_transaction(cert.transaction_id); found && found->serial_hex == cert.serial_hex) tx = *found;
    tx.transaction_id = cert.transaction_id;
    tx.profile = cert.profile;
    tx.status = "success";
    tx.serial_hex = cert.serial_hex;
    tx.requester_ip = cert.requester_ip;
    if (tx.updated_at == 0) tx.updated_at = cert.issued_at;
    if (tx.message_type == 0) tx.message_type = 19;
    tx.request_sha256.clear();  // replay protection stays with the source's requests
    return tx;
}

}  // namespace

StoreCopyCounts copy_store(Store& from, Store& to, std::int64_t now) {
    if (!to.list_certs(1).empty())
        throw StoreError("the target store holds certificates already; migrate into an empty store");
    StoreCopyCounts n;
    auto certs = from.list_certs(kAll);  // newest first: insert the oldest first
    for (auto it = certs.rbegin(); it != certs.rend(); ++it) {
        to.record_issuance(*it, issuance_record(from, *it));
        ++n.certificates;
        if (it->status == "revoked") ++n.revoked;
    }
    auto pending = from.list_pending("", kAll);
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
        if (to.add_pending(*it)) ++n.pending;
    }
    for (const auto& c : from.list_unused_challenges(now)) {
        to.add_challenge(c, 0, now);
        ++n.challenges;
    }
    if (auto crl = from.latest_crl()) {
        to.save_crl(*crl);  // the target's next number follows it
        n.crl_number = crl->number;
    }
    return n;
}

}  // namespace scepter
