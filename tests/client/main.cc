// scepter-testclient entry point: subcommand dispatch and --help.
#include "testclient.h"

#include <cstring>
#include <iostream>

namespace {

const char kUsage[] = R"(scepter-testclient: the Scepter test suite's SCEP client (no HTTP; the tests move bytes)

usage: scepter-testclient request --csr CSR --key KEY --cacert GETCACERT --out MSG.der [options]
         Builds a pkiMessage (default PKCSReq) carrying CSR, enveloped to the RA.
         --csr FILE            PEM or DER PKCS#10 (with its challengePassword attribute)
         --key FILE            the device key (PEM or DER) that signs, unless --signer-cert
         --cacert FILE         the GetCACert answer: DER cert, degenerate PKCS#7, or PEM certs
         --out FILE            where the DER pkiMessage goes
         --signer-out FILE     the signer certificate, PEM (default: OUT.signer.pem); `reply` needs it
         --cipher C            des|des3|aes128|aes192|aes256 (default aes256)
         --oaep                RSA-OAEP key transport instead of PKCS#1 v1.5
         --digest D            md5|sha1|sha256|sha384|sha512 (default sha256)
         --recipient R         auto (the non-CA cert with keyEncipherment; default),
                               all (every certificate in --cacert), or a PEM file
         --message-type N      messageType attribute (default 19 = PKCSReq; 17 RenewalReq,
                               20 CertPoll, 21 GetCert, 22 GetCRL)
         --content C           what is enveloped: csr (default), issuer-and-subject (CertPoll:
                               the CA's and the CSR's names), issuer-and-serial=HEX (GetCert, GetCRL)
         --transaction-id ID   default: hex SHA-256 of the device's SubjectPublicKeyInfo
         --sender-nonce HEX    default: 16 fresh random bytes
         --content-file FILE   envelope these bytes instead of the CSR (hostile-input tests)
         --no-envelope         sign the content bare, without the pkcsPKIEnvelope
         --windows-aki         self-signed signer with a critical AuthorityKeyIdentifier
         --signer-cert FILE    sign with this certificate instead of a fresh self-signed one
         --signer-key FILE     its key (default: --key)
       prints {"transaction_id","sender_nonce","message_type","recipients","recipient_subject",
               "signer","out","bytes"}

       scepter-testclient reply --in CERTREP.der --key KEY --signer SIGNER.pem [options]
         Verifies and decodes a CertRep.
         --sender-nonce HEX    the request's senderNonce: checked against recipientNonce
         --ca FILE             check that the CertRep signer chains to these certificates
         --any-cert            report the first certificate even if it is not for --key (GetCert)
         --crl-out FILE        a GetCRL answer's CRL, PEM
         --out FILE            write the issued certificate (PEM) on SUCCESS
         --signer-key FILE     key of --signer when it is not --key (renewal)
       prints {"status":"SUCCESS|FAILURE|PENDING","fail_info","fail_info_text","transaction_id",
               "sender_nonce","recipient_nonce","recipient_nonce_ok","signer_trusted","digest",
               "signer_subject","cert_subject","cert_issuer","cert_serial","certs_in_reply"}
       exit 0: read and checked; 1: unreadable or bad signature ({"error":...}); 2: nonce or
       signer check failed

       scepter-testclient tamper --in MSG.der --out BAD.der [--where signature|content]
         Flips one byte in the signature (default) or the signed content, in place.

       scepter-testclient batch --cacert GETCACERT --challenge PW|--challenges FILE --count N --out DIR [options]
         Builds N distinct PKCSReq messages at once (load tests: scripts/bench), each a new
         enrollment: CSR for CN=TAG-I with the challenge, fresh signer, random transaction ID
         and nonce; device key I mod K (RSA-2048, made once in the key directory, then reused).
         --challenges FILE     one challenge per line, message I using line I (one-time ones)
         --keys K              distinct device keys (default 100)
         --keydir DIR          where they are kept (default DIR/keys)
         --cipher C, --digest D as for request (default aes128, sha256)
         --jobs J              threads (default: the CPUs)
         --tag TAG             subject prefix (default batch)
         --spot S              the last S messages also as spot/I.der and spot/I.signer.pem
       writes DIR/bodies.bin (the messages back to back) and DIR/index.tsv (one line each:
       i offset length transaction_id sender_nonce key_file); prints {"messages","keys","out"}

       scepter-testclient batch-replies --batch DIR --replies RDIR --ca CA.pem
         Reads the CertReps to a batch's messages in one process: RDIR/bodies.bin holds them back
         to back, RDIR/index.tsv one line each (i offset length; i: the message's number in DIR).
         Checks each as reply does, with the batch's transaction ID, nonce and key.
       prints one JSON object per reply, in RDIR's order: {"i","status","fail_info",
               "fail_info_text","transaction_id_ok","recipient_nonce_ok","signer_trusted",
               "cert_subject","cert_issuer","cert_serial","certs_in_reply"} or {"i","error"}

exit status 2 also for usage errors, 1 for any other failure.
)";

int dispatch(int argc, char** argv) {
    using namespace scepter::testclient;
    std::string cmd = argv[1];
    if (cmd == "request") return run_request(Args(argc, argv, 2, {"oaep", "windows-aki", "no-envelope"}));
    if (cmd == "reply") return run_reply(Args(argc, argv, 2, {"any-cert"}));
    if (cmd == "tamper") return run_tamper(Args(argc, argv, 2, {}));
    if (cmd == "batch") return run_batch(Args(argc, argv, 2, {}));
    if (cmd == "batch-replies") return run_batch_replies(Args(argc, argv, 2, {}));
    throw UsageError("unknown subcommand '" + cmd + "'");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
        std::strcmp(argv[1], "help") == 0) {
        std::cout << kUsage;
        return argc < 2 ? 2 : 0;
    }
    try {
        return dispatch(argc, argv);
    } catch (const scepter::testclient::UsageError& e) {
        std::cerr << "scepter-testclient: " << e.what() << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "scepter-testclient: " << e.what() << "\n";
        return 1;
    }
}
