// The column lists both store backends select, in the order their row
// readers take them (read_cert, read_pending): one spelling for SQLite and
// PostgreSQL, whose schemas name these columns alike.
#pragma once

namespace scepter::store_columns {

inline constexpr const char* kCert =
    "serial, subject, sans, sha1, sha256, not_before, not_after, template, profile, "
    "transaction_id, requester_ip, issued_at, status, der, COALESCE(revoked_at, 0), "
    "COALESCE(revocation_reason, -1), COALESCE(requester, '')";

inline constexpr const char* kPending =
    "transaction_id, profile, template, message_type, subject, requester_ip, status, reason, "
    "created_at, updated_at, serial, csr, signer";

}  // namespace scepter::store_columns
