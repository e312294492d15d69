/*
 * Stable message IDs: every warning and error line (and every audit step)
 * carries one. Each ID is defined here once; a unit test checks that no ID
 * appears twice. Admins grep for them, tests declare the ones they expect,
 * so an ID never changes meaning once released.
 *
 * Plain C macros so that the C connectors can use them too.
 * Ranges: 1xxx configuration, 2xxx audit steps, 3xxx request failures,
 *         4xxx store and files, 5xxx nginx connector, 6xxx Apache connector,
 *         7001-7009 metrics.
 */
#ifndef SCEPTER_LOG_IDS_H
#define SCEPTER_LOG_IDS_H

/* configuration */
#define SCEPTER_ID_CONFIG_LOADED        "SCP1001" /* info: a generation is ready */
#define SCEPTER_ID_CONFIG_INVALID       "SCP1002" /* error: the YAML or a file it names is wrong */
#define SCEPTER_ID_WORKER_INIT_FAILED   "SCP1003" /* error: a worker could not build its store, status records or validation clients, or load its CA or RA keys from a token */
#define SCEPTER_ID_WORKER_NOT_READY     "SCP1004" /* error: a request refused (CertRep FAILURE or 503) because of SCP1003 */
#define SCEPTER_ID_CERT_EXPIRING        "SCP1005" /* warn: a CA or RA certificate expires within 30 days, or has expired */

/* audit steps (one JSON line each) */
#define SCEPTER_ID_GETCACAPS            "SCP2001"
#define SCEPTER_ID_GETCACERT            "SCP2002"
#define SCEPTER_ID_MESSAGE_PARSED       "SCP2003"
#define SCEPTER_ID_SIGNATURE_VERIFIED   "SCP2004"
#define SCEPTER_ID_ENVELOPE_DECRYPTED   "SCP2005"
#define SCEPTER_ID_CSR_CHECKED          "SCP2006"
#define SCEPTER_ID_CHALLENGE_CHECKED    "SCP2007"
#define SCEPTER_ID_TEMPLATE_CHOSEN      "SCP2008"
#define SCEPTER_ID_CERT_ISSUED          "SCP2009"
#define SCEPTER_ID_RESPONSE_SENT        "SCP2010"
#define SCEPTER_ID_REQUEST_RECEIVED     "SCP2011"
#define SCEPTER_ID_GETNEXTCACERT        "SCP2012"
#define SCEPTER_ID_RENEWAL_CHECKED      "SCP2013"
#define SCEPTER_ID_REQUEST_PENDING      "SCP2014"
#define SCEPTER_ID_POLL_ANSWERED        "SCP2015"
#define SCEPTER_ID_CERT_SENT            "SCP2016" /* GetCert */
#define SCEPTER_ID_CRL_SENT             "SCP2017" /* GetCRL and the CRL over HTTP */
#define SCEPTER_ID_CERT_REVOKED         "SCP2018"
#define SCEPTER_ID_CHALLENGE_LOOKUP     "SCP2019" /* phase 1: the one-time challenge exists, is unused and unexpired */
#define SCEPTER_ID_CHALLENGE_CLAIMS     "SCP2020" /* phase 3: the CSR matches what the challenge was issued for */
#define SCEPTER_ID_CHALLENGE_ISSUED     "SCP2021"
#define SCEPTER_ID_POLICY_DECIDED       "SCP2022"
#define SCEPTER_ID_EXTERNAL_VALIDATED   "SCP2023"
#define SCEPTER_ID_OUTCOME_NOTIFIED     "SCP2024"
#define SCEPTER_ID_REQUEST_DECIDED      "SCP2025" /* an administrator approved or denied a pending request */
#define SCEPTER_ID_REPLAY_ANSWERED      "SCP2026" /* a request issued before came again: its certificate again, no second one */
#define SCEPTER_ID_CHALLENGES_WITHDRAWN "SCP2027" /* an administrator deleted unused one-time challenges */
#define SCEPTER_ID_INTUNE_REVOCATIONS_DOWNLOADED "SCP2028" /* revocation sync: Intune handed out revocation requests (downloadRevocationRequests) */
#define SCEPTER_ID_INTUNE_REVOCATION_ANSWERED "SCP2029" /* revocation sync: one request's result (serial, succeeded, error_code) */
#define SCEPTER_ID_INTUNE_REVOCATIONS_UPLOADED "SCP2030" /* revocation sync: the results went to Intune (uploadRevocationResults) */

/* request failures (warn: the client's mistake; error: ours) */
#define SCEPTER_ID_BAD_HTTP_REQUEST     "SCP3001" /* warn: not SCEP at all, answered 4xx */
#define SCEPTER_ID_MESSAGE_UNREADABLE   "SCP3002" /* warn: PKIOperation body is not a pkiMessage */
#define SCEPTER_ID_STEP_FAILED          "SCP3003" /* warn: an enrollment step failed, CertRep FAILURE */
#define SCEPTER_ID_BODY_TOO_LARGE       "SCP3004" /* warn: 413 */
#define SCEPTER_ID_INTERNAL_ERROR       "SCP3005" /* error: a bug or resource failure, 500 */
#define SCEPTER_ID_UNKNOWN_PROFILE      "SCP3006" /* error: the location names no profile we have */
#define SCEPTER_ID_ADMIN_UNAUTHENTICATED "SCP3007" /* warn: an admin location without authentication */
#define SCEPTER_ID_POLICY_FAILED        "SCP3008" /* error: a Lua policy failed (error, instruction or memory limit) */
#define SCEPTER_ID_NOTIFY_FAILED        "SCP3009" /* warn: the validation service did not take a notification */
#define SCEPTER_ID_ADMIN_OTHER_PROFILE  "SCP3010" /* warn: an admin location bound to a profile was asked for another, 403 */
#define SCEPTER_ID_ADMIN_BAD_REQUEST    "SCP3011" /* warn: an admin operation refused its request (method, JSON, size), 4xx */
#define SCEPTER_ID_REVOKE_CRL_FAILED    "SCP3012" /* error: certificates were revoked but the CRL could not be published */
#define SCEPTER_ID_INTUNE_TOKEN_FAILED  "SCP3013" /* error: Entra ID gave no token (refused or unreachable): FAILURE, nothing issued */
#define SCEPTER_ID_INTUNE_DISCOVERY_FAILED "SCP3014" /* error: Graph discovery gave no Intune endpoint: FAILURE, nothing issued */

/* store and files */
#define SCEPTER_ID_STORE_FAILED         "SCP4001" /* error: the store could not record (read-only, full, gone, busy): PKIOperation answered FAILURE, other routes 503 */
#define SCEPTER_ID_AUDIT_WRITE_FAILED   "SCP4002" /* error: the audit log could not be written */
#define SCEPTER_ID_STATUS_RECORD_FAILED "SCP4003" /* error: a status record could not be written */

/* the OCSP responder */
#define SCEPTER_ID_OCSP_SIGNER_ISSUED   "SCP7201" /* info: this worker issued itself a responder certificate (serial, validity) */
#define SCEPTER_ID_OCSP_MALFORMED       "SCP7202" /* warn: a request that is not an OCSPRequest, answered malformedRequest */
#define SCEPTER_ID_OCSP_TRY_LATER       "SCP7203" /* error: the store or the worker could not answer, tryLater */
#define SCEPTER_ID_OCSP_INTERNAL        "SCP7204" /* error: a response could not be built or signed, internalError */
#define SCEPTER_ID_OCSP_METHOD          "SCP7205" /* warn: a method other than GET, HEAD or POST, answered 405 */

/* nginx connector */
#define SCEPTER_ID_NGX_THREAD_POST      "SCP5001" /* error: a task could not be posted */
#define SCEPTER_ID_NGX_BODY_READ        "SCP5002" /* error: the request body could not be read */
#define SCEPTER_ID_NGX_LOADED           "SCP5003" /* notice: module generation loaded */
#define SCEPTER_ID_NGX_NO_CONFIG        "SCP5004" /* emerg: a `scepter` location has no scepter_config */
#define SCEPTER_ID_NGX_NO_RESPONSE      "SCP5005" /* error: the core returned no response from a thread */

/* Apache httpd connector */
#define SCEPTER_ID_APACHE_LOADED        "SCP6001" /* notice: module generation loaded */
#define SCEPTER_ID_APACHE_NO_CONFIG     "SCP6002" /* emerg (configtest) / error (request, 500): no ScepterConfig applies */
#define SCEPTER_ID_APACHE_BODY_READ     "SCP6003" /* info: the request body could not be read (client gone, timeout) */
#define SCEPTER_ID_APACHE_NO_RESPONSE   "SCP6004" /* error: the core returned no response */

/* the enrollments page and operating the audit trail */
#define SCEPTER_ID_ENROLLMENTS_TRAIL_UNREADABLE "SCP7101" /* warn: the enrollments page could not read all of the audit trail */
#define SCEPTER_ID_AUDIT_REOPENED       "SCP7102" /* notice: the audit log was reopened (nginx -s reopen) */
#define SCEPTER_ID_AUDIT_REOPEN_FAILED  "SCP7103" /* error: the audit log could not be reopened; lines go on to the old file */
/* the Intune revocation sync (docs/INTUNE.md) */
#define SCEPTER_ID_INTUNE_POLLER_LEADER "SCP7301" /* info: this worker took the revocation-sync lease and polls for the fleet */
#define SCEPTER_ID_INTUNE_POLLER_LOST   "SCP7302" /* warn: this worker lost the revocation-sync lease (its database connection broke) */
#define SCEPTER_ID_INTUNE_SYNC_FAILED   "SCP7303" /* error: a revocation-sync round failed (token, discovery, Intune, the store); tried again next interval */
/* metrics (docs/METRICS.md) */
#define SCEPTER_ID_METRICS_UNAVAILABLE  "SCP7001" /* error: the metrics location was asked, but the core has no shared block (503) */
#define SCEPTER_ID_METRICS_NO_MEMORY    "SCP7002" /* emerg/error: the connector could not make or hand over the shared metrics memory */

#endif /* SCEPTER_LOG_IDS_H */
