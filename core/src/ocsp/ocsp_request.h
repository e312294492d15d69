// An OCSP request as a client sends it (RFC 6960 §4.1, RFC 5019 §2.1): read
// and checked once, at the boundary. Everything wrong with it is an
// OcspMalformed, answered with the unsigned malformedRequest status.
#pragma once

#include "scepter/ossl.h"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace scepter {

class OcspMalformed : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct OcspQuery {
    struct Item {
        OCSP_CERTID* id = nullptr;  // borrowed from request
        std::string serial_hex;     // the store's form (scepter/cert_serial.h)
        std::string key;            // the CertID's DER: hash algorithm, issuer hashes, serial
    };
    ossl::OcspRequest request;
    std::vector<Item> items;
    bool has_nonce = false;

    // One certificate and no nonce: the same bytes answer every such
    // request (RFC 5019), so the answer may be cached.
    bool cacheable() const { return !has_nonce && items.size() == 1; }
};

// More CertIDs than this in one request are refused: RFC 5019 clients send
// one, and each costs a store lookup.
constexpr std::size_t kOcspMaxCertIds = 16;

// A DER OCSPRequest (a POST body). Throws OcspMalformed.
OcspQuery read_ocsp_request(const unsigned char* der, std::size_t len);

// The OCSPRequest of a GET: the location's URL, '/', then the request's
// base64, URL-encoded (RFC 6960 appendix A.1). raw_path is the path as the
// client sent it, percent-encoding and all (a web server's normalised path
// would merge the "//" base64 may contain). The location's own prefix is
// not known here (Apache does not tell it), so the request is the longest
// tail after a '/' that decodes to an OCSPRequest: base64 may itself
// contain '/'. Throws OcspMalformed.
OcspQuery read_ocsp_get(const std::string& raw_path);

}  // namespace scepter
