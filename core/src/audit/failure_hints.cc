// The one table of what a failed enrollment step means to an admin: for each
// failing step and failInfoText, a one-line cause and what to check.
// `scepter trace` prints these; docs/TROUBLESHOOTING.md carries the same
// rows (a unit test holds the two together), so fix a hint here first.
//
// Rows are tried in order: the first whose step fits (or is "") and whose
// `match` is in the step's detail wins. Specific rows come before a step's
// catch-all row; the failures of our own side, which any step can meet,
// come first.
#include "scepter/audit_trail.h"

#include <cctype>

namespace scepter {
namespace {

const std::vector<FailureHint> kHints = {
    // ---- any step, our side: first, before a step's catch-all can take them ----
    {"store_unavailable", "", "store_unavailable",
     "The certificate store could not be written (read-only, full, missing or locked); nothing was recorded.",
     "Read SCP4001 in the error log; check the disk, the store file's owner and permissions, and busy_timeout_ms."},
    {"InternalError", "", "internal error:",
     "Scepter itself failed (a bug, or memory or files ran out) and answered HTTP 500.",
     "Read SCP3005 in the error log for the step and error; report it with the transaction ID."},

    // ---- message_parsed: the pkiMessage and its signature -----------------
    {"NotAPkiMessage", "message_parsed", "is not a CMS SignedData",
     "The body is not a SCEP pkiMessage: a client bug, a proxy that changed or cut the body, or no SCEP client at all.",
     "Check that the client POSTs the raw DER message and that no proxy in front rewrites, re-encodes or truncates it."},
    {"AttributeTooLong", "message_parsed", "bytes long; limits.",
     "The transactionID or senderNonce is longer than the configured limits; the message was refused unread.",
     "Real clients send 32-64 byte IDs: look at what sends this; raise limits.max_transaction_id_length only for a real client."},
    {"SignatureInvalid", "message_parsed", "message signature does not verify",
     "The message's signature does not verify: it was altered on the way (proxy, tampering) or the client signs it wrongly.",
     "Compare what the client sent with what arrived; a device that does this every time has a broken SCEP client."},
    {"UnsupportedDigest", "message_parsed", "unsupported digest",
     "The message is signed with a digest Scepter does not know.",
     "Configure the client to sign with SHA-256 (GetCACaps advertises SHA-256)."},
    {"TransactionIdMissing", "message_parsed", "transactionID attribute is missing",
     "The message carries no transactionID, so it cannot be answered or traced.",
     "The client is not RFC 8894 compliant: update it or its SCEP library."},
    {"SenderNonceMissing", "message_parsed", "senderNonce attribute is missing",
     "The message carries no senderNonce.",
     "The client is not RFC 8894 compliant: update it or its SCEP library."},
    {"NotARequest", "message_parsed", "is not a request",
     "The message type is not one a client sends (PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL).",
     "The client is broken or is replaying a server's CertRep; find the device by its client address."},
    {"MessageRejected", "message_parsed", "",
     "The pkiMessage is malformed (signers, signer certificate or attributes are not as SCEP requires).",
     "Read the detail; capture the request (scepter-testclient can decode it) and update the client."},

    // ---- signature_verified -------------------------------------------------
    {"DigestNotAllowed", "signature_verified", "is not allowed on this profile",
     "The message is signed with a digest this profile refuses (strict profiles refuse MD5 and SHA-1).",
     "Make the device sign with SHA-256, or add the digest to the profile's digests if the device cannot."},

    // ---- envelope_decrypted ---------------------------------------------------
    {"DecryptFailed", "envelope_decrypted", "cannot be decrypted with our RA key",
     "The device encrypted to an RA certificate that is not ours: it holds a stale GetCACert (RA or CA renewed, or another server's).",
     "Make the device fetch GetCACert again (re-deploy the SCEP profile); check every server behind the URL serves the same RA certificates."},
    {"CipherNotAllowed", "envelope_decrypted", "content cipher",
     "The device encrypted with a cipher this profile refuses (DES or 3DES on a strict profile).",
     "Make the device use AES (GetCACaps lists AES), or add the cipher to the profile's ciphers if it cannot."},
    {"EnvelopeUnreadable", "envelope_decrypted", "",
     "The encrypted part of the message is missing or does not parse.",
     "The client's SCEP implementation is broken, or a proxy damaged the body; capture the request."},

    // ---- csr_checked: the PKCS#10 request inside ------------------------------
    {"NotACsr", "csr_checked", "not a PKCS#10 request",
     "The decrypted content is not a certificate request.",
     "The client's SCEP implementation is broken; capture the request."},
    {"CsrSignatureInvalid", "csr_checked", "CSR's signature does not verify",
     "The CSR is not signed by its own key (proof of possession fails).",
     "The device's key or CSR is corrupt: remove the SCEP profile's key on the device and let it enroll again."},
    {"CsrDigestNotAllowed", "csr_checked", "CSR signature digest",
     "The CSR is signed with a digest this profile refuses.",
     "Make the device sign its CSR with SHA-256, or add the digest to the profile's digests."},
    {"KeyNotCertified", "csr_checked", "is not certified",
     "The CSR's key type or EC curve is not one Scepter certifies (RSA; EC P-256, P-384, P-521).",
     "Set the SCEP profile's key type to RSA or a NIST curve."},
    {"KeyNotCertified", "csr_checked", "curve",
     "The CSR's EC key names no curve or carries explicit parameters; only named curves are certified.",
     "Set the SCEP profile's key to a named curve (P-256, P-384, P-521)."},
    {"WeakExponent", "csr_checked", "exponent",
     "The CSR's RSA public exponent is weak or unreadable (65537 or larger, odd, is required).",
     "The device generated an unsafe key: update the client; every mainstream client uses 65537."},
    {"KeyTooLarge", "csr_checked", "is larger than",
     "The CSR's RSA key is larger than Scepter certifies.",
     "Set the SCEP profile's key size to 2048, 3072 or 4096."},
    {"NameTooLong", "csr_checked", "; the limit is",
     "The CSR's subject, a name in it or its list of SANs is larger than the configured limits.",
     "Check the SCEP profile's subject and SAN variables (a variable that expands to a huge value?); raise limits only for real needs."},
    {"NameHasControlCharacter", "csr_checked", "control character",
     "A subject attribute or SAN in the CSR holds a NUL or control character.",
     "Check the SCEP profile's subject and SAN variables and the directory values they expand to."},
    {"CsrRefused", "csr_checked", "",
     "The CSR cannot be certified as it is (its key or an attribute cannot be read).",
     "Read the detail; update the client or fix the SCEP profile's CSR settings."},

    // ---- challenge_lookup, challenge_password, challenge_claims --------------
    {"ChallengePasswordMissing", "", "ChallengePasswordMissing",
     "The CSR carries no challenge password.",
     "Check that the MDM delivers the challenge into the SCEP profile (its challenge variable) and that the profile targets this URL."},
    {"ChallengeNotFound", "", "ChallengeNotFound",
     "No one-time challenge was issued with this password: a wrong, mistyped or purged challenge, or one from another server.",
     "Check the MDM fetches challenges from this server's admin location; a challenge purged a day after it expired is gone."},
    {"ChallengeNotConfigured", "", "ChallengeNotConfigured",
     "The profile has neither one-time challenges nor a static challenge, so no password can be checked.",
     "Configure the profile's challenge (one_time or static) in scepter.yaml."},
    {"ChallengeProfileMismatch", "", "ChallengeProfileMismatch",
     "The challenge was issued for another profile than the one this URL serves.",
     "Fetch the challenge for the profile whose URL is in the SCEP profile (the admin location's profile parameter)."},
    {"ChallengeAlreadyUsed", "", "ChallengeAlreadyUsed",
     "The one-time challenge was already used by another enrollment (a retry with the same challenge, or two devices given one).",
     "Trace the transaction named in the detail; the MDM must fetch a new challenge for every enrollment."},
    {"ChallengeExpired", "", "ChallengeExpired",
     "The MDM delivered the profile after the challenge's lifetime: the device enrolled too late.",
     "Raise one_time.validity_minutes, or find why the device got its profile late (offline, MDM check-in interval)."},
    {"ChallengePasswordMismatch", "", "ChallengePasswordMismatch",
     "The challenge password is wrong: a typo, an old static password, or a challenge from another server.",
     "Compare the password in the SCEP profile with the profile's static challenge, or fetch a fresh one-time challenge."},
    {"SubjectNameMismatch", "", "SubjectNameMismatch",
     "The CSR's subject is not the one the challenge was issued for.",
     "Check the SCEP profile's subject name format against the subject given when the challenge was issued."},
    {"SubjectAltNameMismatch", "", "SubjectAltNameMismatch",
     "The CSR's SANs are not the ones the challenge was issued for.",
     "Check the SCEP profile's SAN settings against the SANs given when the challenge was issued."},
    // Before KeyUsageMismatch, whose name is inside this one's.
    {"EnhancedKeyUsageMismatch", "", "EnhancedKeyUsageMismatch",
     "The CSR does not ask for an extended key usage the challenge was issued for.",
     "Add the extended key usage to the SCEP profile, or issue the challenge without it."},
    {"KeyUsageMismatch", "", "KeyUsageMismatch",
     "The CSR's key usage is not the one the challenge was issued for.",
     "Check the SCEP profile's key usage (signature, encipherment) against the challenge's claims."},
    {"KeyLengthMismatch", "", "KeyLengthMismatch",
     "The CSR's key is smaller than the challenge's min_key_size.",
     "Raise the SCEP profile's key size to the minimum the challenge requires."},

    // ---- renewal_checked --------------------------------------------------------
    {"RenewalDisabled", "renewal_checked", "RenewalReq is not enabled",
     "The device sent a RenewalReq, but this profile does not accept renewals.",
     "Enable renewal on the profile, or let the device enroll anew with a challenge."},
    {"RenewalNotOurCertificate", "renewal_checked", "did not issue",
     "The renewal is signed with a certificate this CA did not issue.",
     "The device renews against the wrong server, or the CA was replaced: enroll it anew with a challenge."},
    {"RenewalCertificateExpired", "renewal_checked", "has expired",
     "The certificate being renewed has already expired, so it no longer proves the device.",
     "Enroll the device anew with a challenge; renew earlier (renewal window) next time."},
    {"RenewalCertificateUnknown", "renewal_checked", "is not in the store",
     "The certificate being renewed is not in the store (another store, or a store restored from an old backup).",
     "Check the profile's store; enroll the device anew with a challenge."},
    {"RenewalCertificateRevoked", "renewal_checked", "is revoked",
     "The certificate being renewed is revoked.",
     "Intended if you revoked it; otherwise find who did (scepter certs show) and enroll the device anew."},
    {"RenewalTooEarly", "renewal_checked", "renewal opens",
     "The device renews before the profile's renewal window opens.",
     "Widen renewal.window_days, or set the device's renewal threshold to match it."},
    {"RenewalSubjectChanged", "renewal_checked", "subject differs",
     "The renewal asks for another subject than the certificate it renews.",
     "A renewal keeps its subject: enroll anew with a challenge to change it."},

    // ---- template_chosen, policy_decided, external_validation ------------------
    {"PolicyDenied", "", "PolicyDenied",
     "The profile's Lua policy denied the request; the detail gives its reason.",
     "Run `scepter policy test` with the device's CSR to see why; change the policy or the device's request."},
    {"PolicyFailed", "", "PolicyFailed",
     "The profile's Lua policy could not decide (an error, a limit reached, or a template it names does not exist).",
     "Read SCP3008 in the error log and run `scepter policy test` with the CSR; fix the policy."},
    {"IntuneTokenRefused", "external_validation", "IntuneTokenRefused",
     "Entra ID refused the application's token request (SCP3013); its error and AADSTS code are in the detail.",
     "Check the intune block's tenant, client_id and the client secret file or certificate (expired, rotated, not uploaded to the app registration); `scepter intune check` repeats the request."},
    {"IntuneTokenUnavailable", "external_validation", "IntuneTokenUnavailable",
     "Entra ID's token endpoint could not be reached or failed (SCP3013).",
     "Check that this server reaches the intune block's authority over HTTPS (proxy, firewall, ca_file); run `scepter intune check`."},
    {"IntuneDiscoveryFailed", "external_validation", "IntuneDiscoveryFailed",
     "Microsoft Graph did not name Intune's ScepRequestValidationFEService endpoint (SCP3014).",
     "Check that the app has Graph's Application.Read.All and Intune's scep_challenge_provider permissions with admin consent; run `scepter intune check`."},
    {"ValidationServiceUnavailable", "external_validation", "ServiceUnavailable",
     "The external validation service could not be reached or failed (connection, timeout, HTTP 5xx).",
     "Check the service's URL, that it is up and reachable from this server, its TLS certificate (ca_file) and timeout_ms."},
    {"ValidationBadResponse", "external_validation", "BadResponse",
     "The external validation service answered something that is not its JSON verdict.",
     "Check that validate_url points at the service itself (not a login page or proxy error page)."},
    {"ValidationDenied", "external_validation", "",
     "The external validation service refused the request; its code and description are in the detail.",
     "Look the code up in the service's own logs and documentation (for Intune: the device's certificate status)."},

    // ---- cert_issued and request_pending: the template's rules ------------------
    {"KeyTooSmall", "", "needs RSA keys of at least",
     "The CSR's RSA key is smaller than the template requires.",
     "Raise the SCEP profile's key size to the template's min_rsa_bits, or lower the template's minimum."},
    {"KeyTypeRefused", "", "does not allow rsa keys",
     "The template does not allow this key type.",
     "Set the SCEP profile's key type to one the template allows (key_types)."},
    {"KeyTypeRefused", "", "does not allow ec keys",
     "The template does not allow this key type.",
     "Set the SCEP profile's key type to one the template allows (key_types)."},
    {"SubjectAttributeRefused", "", "does not allow the subject attribute",
     "The CSR's subject has an attribute the template does not allow.",
     "Remove the attribute from the SCEP profile's subject, or allow it in the template."},
    {"SubjectAttributeRequired", "", "requires the subject attribute",
     "The CSR's subject lacks an attribute the template requires.",
     "Add the attribute to the SCEP profile's subject name format."},
    {"SanTypeRefused", "", "does not allow a SAN of type",
     "The CSR (or the policy) asks for a SAN type the template does not allow.",
     "Remove that SAN from the SCEP profile, or allow its type in the template's san_types."},
    {"UriSanRefused", "", "not under san.uri_prefixes",
     "The CSR (or the policy) asks for a URI SAN that starts with none of the template's san.uri_prefixes.",
     "Add the URI's prefix (such as IntuneDeviceId://) to the template's san.uri_prefixes, or remove the URI from the SCEP profile."},
    {"SidExtensionRefused", "", "does not allow the SID extension",
     "The CSR carries Intune's SID SAN URI (tag:microsoft.com,2022-09-14:sid:) and the template says sid_extension: forbid.",
     "Set the template's sid_extension to allow (or require), or remove the SID URI from the SCEP profile's SANs."},
    {"SidRequired", "", "requires a SID",
     "The template says sid_extension: require and the CSR carries no SID SAN URI.",
     "Add the URI tag:microsoft.com,2022-09-14:sid:{{OnPremisesSecurityIdentifier}} to the SCEP profile's SANs."},
    {"SidInvalid", "", "does not carry a valid SID",
     "The SID from the CSR's SID SAN URI (or the policy's decision) is not of the form S-1-<digits>-<digits>...",
     "Check the SCEP profile's SID variable; a user or device without an on-premises SID gets an empty one."},
    {"SidConflict", "", "two different SIDs",
     "The CSR carries more than one SID SAN URI, with different SIDs.",
     "Keep one SID URI in the SCEP profile's SANs."},
    {"ValidityTooLong", "", "(max_validity_days); the CSR asks for",
     "The CSR's ValidityPeriod name-value pairs ask for longer than the template's max_validity_days.",
     "Shorten the SCEP profile's certificate validity period, or raise max_validity_days (on_excess_request: drop clips it)."},
    {"ValidityRequestInvalid", "", "ValidityPeriod",
     "The CSR's ValidityPeriod / ValidityPeriodUnits name-value pairs are incomplete or not a known period and count.",
     "Check the SCEP profile's validity period; periods are Years, Months, Weeks, Days or Hours."},
    {"CaCertificateRefused", "", "CA:TRUE",
     "The CSR asks for a CA certificate; templates issue leaf certificates only.",
     "Remove the basic constraints CA:TRUE from the device's request."},
    {"PolicySanInvalid", "", "the policy's",
     "The Lua policy rewrote a SAN into a value that is not valid for its type.",
     "Fix the policy's SAN rewrite; `scepter policy test` shows what it returns."},
    {"SubjectAttributeInvalid", "", "is not valid",
     "A subject attribute of the CSR cannot be encoded in a certificate (wrong length or characters for its type).",
     "Check the SCEP profile's subject variables (a country that is not two letters?)."},

    // ---- outcome_notified ---------------------------------------------------------
    {"NotificationFailed", "", "NotificationFailed",
     "The validation service did not accept the success notification, so the new certificate was withdrawn (revoked).",
     "Check the service is reachable (success_url); the device will retry with a new challenge."},

    // ---- poll_answered, cert_sent, crl_sent --------------------------------------
    {"RequestDenied", "poll_answered", "denied the request",
     "An administrator denied the pending request.",
     "Intended; the reason is in the detail and in `scepter requests show`."},
    {"PendingUnknown", "poll_answered", "no pending request",
     "The device polls for a request this server does not hold (another server's, or a store reset).",
     "Let the device enroll anew; check that polls reach the server that holds the request."},
    {"PollKeyMismatch", "poll_answered", "not signed with the key",
     "The poll is signed with another key than the pending request.",
     "Another device reuses the transaction ID, or the device lost its key: enroll anew."},
    {"TemplateGone", "poll_answered", "no longer exists",
     "The pending request's template was removed from the configuration before it was approved.",
     "Restore the template, or deny the request and let the device enroll anew."},
    {"CertificateGone", "poll_answered", "no longer in the store",
     "The certificate issued for the approved request is no longer in the store.",
     "Check the store (a restore from an old backup?); let the device enroll anew."},
    {"GetCertDisabled", "cert_sent", "GetCert is not enabled",
     "The client asked for a certificate by serial, but GetCert is off on this profile.",
     "Enable get_cert on the profile if clients need it."},
    {"NotTheHolder", "cert_sent", "holder",
     "GetCert is answered only to the certificate's holder; another key asked.",
     "The client must sign GetCert with the certificate's own key."},
    {"CertificateUnknown", "cert_sent", "was issued here",
     "The client asked for a certificate this CA did not issue.",
     "Check the serial the client asks for; it may belong to another CA."},
    {"IssuerNotOurs", "", "the issuer is not this CA",
     "The client asks about a certificate of another CA.",
     "Point the client at the CA that issued the certificate."},
    {"GetCrlDisabled", "crl_sent", "GetCRL is not enabled",
     "The client asked for the CRL over SCEP, but GetCRL is off on this profile.",
     "Enable get_crl on the profile, or let clients fetch the CRL over HTTP (the CRL distribution point)."},

    // ---- challenge issuing (the admin location answers 429, the CLI exits 1) ---------
    {"ChallengeQuotaFull", "challenge_issued", "quota",
     "The requester already holds max_per_requester unused challenges (NDES: the password cache is full).",
     "Withdraw them (`scepter challenge purge --unused --requester R`), let them expire, or raise one_time.max_per_requester."},

    // ---- a FAILURE without a failed step ----------------------------------------------
    {"service_unavailable", "response_sent", "",
     "The worker could not build its store, status records or validation clients, or load the CA key kept in a PKCS#11 token, so it answered FAILURE untried (an RA key kept there that it could not load gets HTTP 503 instead: nothing can sign a CertRep).",
     "Read SCP1003 and SCP1004 in the error log: usually the store's directory is not writable by the worker user; for `ca.key (pkcs11)` (or `ra.signing.key (pkcs11)` and the like), the token, the object or the PIN file is wrong, or the key is not its certificate's (`scepter config check` says which), then reload."},
};

bool looks_like_code(std::string_view word) {
    if (word.empty() || word.size() > 48) return false;
    for (char c : word)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
}

}  // namespace

const std::vector<FailureHint>& failure_hints() noexcept { return kHints; }

const FailureHint* find_failure_hint(std::string_view step, std::string_view detail) noexcept {
    for (const FailureHint& h : kHints) {
        if (h.step[0] != '\0' && step != h.step) continue;
        if (h.match[0] != '\0' && detail.find(h.match) == std::string_view::npos) continue;
        return &h;
    }
    return nullptr;
}

std::string failure_reason(std::string_view step, std::string_view detail) noexcept {
    try {
        if (const FailureHint* h = find_failure_hint(step, detail)) return h->key;
        auto colon = detail.find(':');
        if (colon != std::string_view::npos && looks_like_code(detail.substr(0, colon)))
            return std::string(detail.substr(0, colon));
        constexpr std::size_t kShort = 60;
        if (detail.size() <= kShort) return std::string(detail);
        return std::string(detail.substr(0, kShort)) + "...";
    } catch (const std::exception&) {
        return "";
    }
}

bool is_failure(const AuditEntry& e) noexcept {
    if (e.failed()) return true;
    // A FAILURE without a failed step: the worker was not ready, as trails
    // written before that became a failed response_sent step record it.
    return e.step == "response_sent" && !e.detail.empty() && e.field("pki_status") == "FAILURE";
}

}  // namespace scepter
