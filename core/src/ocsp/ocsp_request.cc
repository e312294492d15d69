#include "ocsp/ocsp_request.h"

#include "codec/query_string.h"
#include "scepter/cert_serial.h"
#include "scepter/openssl_error.h"
#include "scepter/text.h"

namespace scepter {
namespace {

// RFC 9654 (which obsoletes RFC 8954's 32): a nonce of 1 to 128 octets is
// echoed; 0 or more than 128 octets is refused with malformedRequest.
constexpr int kMaxNonceBytes = 128;

// The nonce's length: the extension's value is a DER OCTET STRING holding
// the nonce (RFC 6960 §4.4.1); some clients put the bare bytes there.
int nonce_length(X509_EXTENSION* ext) {
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
    const unsigned char* p = ASN1_STRING_get0_data(value);
    long len = ASN1_STRING_length(value);
    ossl::Asn1OctetString inner(d2i_ASN1_OCTET_STRING(nullptr, &p, len));
    if (inner && p == ASN1_STRING_get0_data(value) + len) return ASN1_STRING_length(inner.get());
    return int(len);
}

void read_request_extensions(OCSP_REQUEST* req, OcspQuery& q) {
    for (int i = 0; i < OCSP_REQUEST_get_ext_count(req); ++i) {
        X509_EXTENSION* ext = OCSP_REQUEST_get_ext(req, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_id_pkix_OCSP_Nonce) {
            if (q.has_nonce) throw OcspMalformed("the nonce extension appears twice");
            int len = nonce_length(ext);
            if (len < 1 || len > kMaxNonceBytes)
                throw OcspMalformed("a nonce of " + std::to_string(len) + " octets (RFC 9654: 1 to 128)");
            q.has_nonce = true;
        } else if (X509_EXTENSION_get_critical(ext)) {
            throw OcspMalformed("an unsupported critical request extension");
        }
    }
}

OcspQuery::Item read_cert_id(OCSP_ONEREQ* one) {
    for (int i = 0; i < OCSP_ONEREQ_get_ext_count(one); ++i)
        if (X509_EXTENSION_get_critical(OCSP_ONEREQ_get_ext(one, i)))
            throw OcspMalformed("an unsupported critical extension on a single request");
    OcspQuery::Item item;
    item.id = OCSP_onereq_get0_id(one);
    ASN1_INTEGER* serial = nullptr;
    if (item.id == nullptr || OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, item.id) != 1 || serial == nullptr)
        throw OcspMalformed("a CertID without a serial number");
    item.serial_hex = serial_hex(serial);
    if (item.serial_hex.empty()) throw OcspMalformed("a CertID whose serial number does not read");
    unsigned char* der = nullptr;
    int len = i2d_OCSP_CERTID(item.id, &der);
    ossl::Buffer<unsigned char> owned(der);
    if (len <= 0) throw OcspMalformed("a CertID that does not encode");
    item.key.assign(reinterpret_cast<char*>(der), std::size_t(len));
    return item;
}

}  // namespace

OcspQuery read_ocsp_request(const unsigned char* der, std::size_t len) {
    clear_openssl_errors();
    if (len == 0) throw OcspMalformed("an empty request");
    OcspQuery q;
    const unsigned char* p = der;
    q.request.reset(d2i_OCSP_REQUEST(nullptr, &p, long(len)));
    clear_openssl_errors();  // a client's bytes: nothing for the error queue
    if (!q.request) throw OcspMalformed("not a DER OCSPRequest");
    if (p != der + len) throw OcspMalformed("bytes after the OCSPRequest");
    int count = OCSP_request_onereq_count(q.request.get());
    if (count < 1) throw OcspMalformed("a request for no certificate");
    if (std::size_t(count) > kOcspMaxCertIds)
        throw OcspMalformed("a request for " + std::to_string(count) + " certificates (at most " +
                            std::to_string(kOcspMaxCertIds) + ")");
    read_request_extensions(q.request.get(), q);
    for (int i = 0; i < count; ++i) q.items.push_back(read_cert_id(OCSP_request_onereq_get0(q.request.get(), i)));
    return q;
}

OcspQuery read_ocsp_get(const std::string& raw_path) {
    std::string why = "no base64 OCSPRequest after the location's path";
    for (std::size_t slash = raw_path.find('/'); slash != std::string::npos; slash = raw_path.find('/', slash + 1)) {
        auto der = base64_decode(percent_decode(raw_path.substr(slash + 1)));
        if (!der || der->empty() || (*der)[0] != 0x30) continue;  // not a DER SEQUENCE: a path segment
        try {
            return read_ocsp_request(der->data(), der->size());
        } catch (const OcspMalformed& e) {
            why = e.what();  // a shorter tail may still hold it; else this is the reason given
        }
    }
    throw OcspMalformed(why);
}

}  // namespace scepter
