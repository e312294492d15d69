#include "ca/csr.h"

#include "ca/csr_checks.h"
#include "ca/csr_known_key.h"
#include "ca/x509_text.h"
#include "scepter/openssl_error.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <map>
#include <optional>

namespace scepter {

ossl::GeneralNames requested_sans(X509_REQ* req) {
    ossl::ExtStack exts(X509_REQ_get_extensions(req));
    if (!exts) return nullptr;
    return ossl::GeneralNames(
        static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
}

namespace {

std::string utf8_of(const ASN1_STRING* s) {
    unsigned char* out = nullptr;
    int len = ASN1_STRING_to_UTF8(&out, s);
    if (len < 0) return {};
    ossl::Buffer<unsigned char> owned(out);
    return std::string(reinterpret_cast<char*>(out), std::size_t(len));
}

void read_subject(CsrInfo& info) {
    const X509_NAME* name = X509_REQ_get_subject_name(info.req.get());
    for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
        const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(e);
        int nid = OBJ_obj2nid(obj);
        char dotted[80];
        OBJ_obj2txt(dotted, sizeof dotted, obj, 1);
        const char* sn = nid == NID_undef ? dotted : OBJ_nid2sn(nid);
        info.subject.push_back({sn, nid, utf8_of(X509_NAME_ENTRY_get_data(e))});
    }
    info.subject_text = name_text(name);
}

void read_challenge(CsrInfo& info) {
    int pos = X509_REQ_get_attr_by_NID(info.req.get(), NID_pkcs9_challengePassword, -1);
    if (pos < 0) return;
    X509_ATTRIBUTE* attr = X509_REQ_get_attr(info.req.get(), pos);
    ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attr, 0);
    if (value == nullptr) return;
    switch (value->type) {
        case V_ASN1_PRINTABLESTRING: case V_ASN1_UTF8STRING: case V_ASN1_IA5STRING:
        case V_ASN1_BMPSTRING: case V_ASN1_T61STRING: case V_ASN1_UNIVERSALSTRING:
            info.challenge = utf8_of(value->value.asn1_string);
            break;
        default:
            throw ScepFailure(FailInfo::bad_request, "the challengePassword attribute is not a string");
    }
}

constexpr const char* kOidNameValuePair = "1.3.6.1.4.1.311.13.2.1";  // szOID_ENROLLMENT_NAME_VALUE_PAIR
constexpr std::size_t kMaxNameValueText = 256;

// One BMPString at p (advancing p); nullopt when it is not one.
std::optional<std::string> next_bmp(const unsigned char*& p, long left) {
    const unsigned char* q = p;
    ossl::Asn1String bmp(d2i_ASN1_BMPSTRING(nullptr, &q, left));
    if (!bmp) return std::nullopt;
    p = q;
    return utf8_of(bmp.get());
}

// EnrollmentNameValuePair ::= SEQUENCE { name BMPString, value BMPString }
void read_name_value_pairs(CsrInfo& info) {
    ossl::Asn1Object oid(OBJ_txt2obj(kOidNameValuePair, 1));
    check(oid != nullptr, "name-value pair OID");
    std::optional<std::string> period, units;
    for (int pos = X509_REQ_get_attr_by_OBJ(info.req.get(), oid.get(), -1); pos >= 0;
         pos = X509_REQ_get_attr_by_OBJ(info.req.get(), oid.get(), pos)) {
        X509_ATTRIBUTE* attr = X509_REQ_get_attr(info.req.get(), pos);
        for (int i = 0; i < X509_ATTRIBUTE_count(attr); ++i) {
            ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attr, i);
            if (value == nullptr || value->type != V_ASN1_SEQUENCE)
                throw ScepFailure(FailInfo::bad_request, "a name-value pair attribute of the CSR is not a SEQUENCE");
            const unsigned char* p = value->value.sequence->data;
            const unsigned char* end = p + value->value.sequence->length;
            long len = 0;
            int tag = 0, cls = 0;
            int ret = ASN1_get_object(&p, &len, &tag, &cls, end - p);
            if ((ret & 0x80) || tag != V_ASN1_SEQUENCE || p + len != end)
                throw ScepFailure(FailInfo::bad_request, "a name-value pair attribute of the CSR is malformed");
            auto name = next_bmp(p, end - p);
            auto text = name ? next_bmp(p, end - p) : std::nullopt;
            if (!name || !text || p != end || name->size() > kMaxNameValueText || text->size() > kMaxNameValueText) {
                clear_openssl_errors();
                throw ScepFailure(FailInfo::bad_request,
                                  "a name-value pair attribute of the CSR is not two BMPStrings of at most 256 characters");
            }
            if (*name == "ValidityPeriod") period = *text;
            else if (*name == "ValidityPeriodUnits") units = *text;
        }
    }
    if (!period && !units) return;
    if (!period || !units)
        throw ScepFailure(FailInfo::bad_request, std::string("the CSR names ") +
                                                     (period ? "ValidityPeriod without ValidityPeriodUnits"
                                                             : "ValidityPeriodUnits without ValidityPeriod"));
    info.requested_validity_seconds = validity_request_seconds(*period, *units);
    info.requested_validity_text = *units + " " + *period;
}

std::string general_name_type(int type, const GENERAL_NAME* gn) {
    switch (type) {
        case GEN_DNS: return "dns";
        case GEN_EMAIL: return "email";
        case GEN_URI: return "uri";
        case GEN_IPADD: return "ip";
        case GEN_OTHERNAME:
            return OBJ_obj2nid(gn->d.otherName->type_id) == NID_ms_upn ? "upn" : "other";
        default: return "other";
    }
}

// An address as people and policies write it (192.0.2.1, 2001:db8::1): a
// policy may hand a CSR's SAN back, a challenge may claim it, the store
// shows it. Hex only for what is no address (an odd length).
std::string ip_text(const ASN1_OCTET_STRING* ip) {
    char buf[INET6_ADDRSTRLEN];
    int family = ip->length == 4 ? AF_INET : ip->length == 16 ? AF_INET6 : AF_UNSPEC;
    if (family != AF_UNSPEC && inet_ntop(family, ip->data, buf, sizeof buf) != nullptr) return buf;
    ossl::Buffer<char> hex(OPENSSL_buf2hexstr(ip->data, ip->length));
    return hex ? hex.get() : "";
}

std::string general_name_value(int type, const GENERAL_NAME* gn) {
    switch (type) {
        case GEN_DNS: case GEN_EMAIL: case GEN_URI: return utf8_of(gn->d.ia5);
        case GEN_IPADD: return ip_text(gn->d.ip);
        case GEN_OTHERNAME: {
            const ASN1_TYPE* v = gn->d.otherName->value;
            return v && v->type == V_ASN1_UTF8STRING ? utf8_of(v->value.utf8string) : "";
        }
        default: return "";
    }
}

void read_sans(CsrInfo& info) {
    ossl::GeneralNames names = requested_sans(info.req.get());
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        info.sans.push_back({general_name_type(gn->type, gn), general_name_value(gn->type, gn), i});
    }
}

// RFC 5280 §4.2: each extension at most once. With two of one kind
// X509V3_get_d2i reads neither, so a second basicConstraints CA:TRUE, or a
// second subjectAltName, would pass every check unseen.
void check_no_repeats(const STACK_OF(X509_EXTENSION)* exts) {
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
        const ASN1_OBJECT* obj = X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i));
        for (int j = 0; j < i; ++j) {
            if (OBJ_cmp(obj, X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, j))) != 0) continue;
            char dotted[80];
            OBJ_obj2txt(dotted, sizeof dotted, obj, 1);
            int nid = OBJ_obj2nid(obj);
            throw ScepFailure(FailInfo::bad_request, std::string("the CSR repeats the ") +
                                                         (nid == NID_undef ? dotted : OBJ_nid2sn(nid)) + " extension");
        }
    }
}

// An extension we act on must read; one that is present but malformed is
// refused rather than taken for absent.
void* decoded_extension(const STACK_OF(X509_EXTENSION)* exts, int nid) {
    int crit = -1;
    void* value = X509V3_get_d2i(exts, nid, &crit, nullptr);
    if (value == nullptr && crit >= 0) {
        clear_openssl_errors();
        throw ScepFailure(FailInfo::bad_request, std::string("the CSR's ") + OBJ_nid2sn(nid) +
                                                     " extension cannot be read");
    }
    return value;
}

// What only a CA certificate holds besides CA:TRUE. The template decides
// the issued extensions, but a rejecting template refuses a CSR that asks
// for them, as it refuses CA:TRUE.
void read_ca_powers(CsrInfo& info, const STACK_OF(X509_EXTENSION)* exts) {
    uint32_t ku = info.key_usage.value_or(0);
    if (ku & KU_KEY_CERT_SIGN) info.ca_powers.push_back("keyCertSign");
    if (ku & KU_CRL_SIGN) info.ca_powers.push_back("cRLSign");
    if (X509v3_get_ext_by_NID(exts, NID_name_constraints, -1) >= 0) info.ca_powers.push_back("nameConstraints");
}

void read_extensions(CsrInfo& info) {
    ossl::ExtStack exts(X509_REQ_get_extensions(info.req.get()));
    if (!exts) {
        clear_openssl_errors();
        if (X509_REQ_get_attr_by_NID(info.req.get(), NID_ext_req, -1) >= 0)
            throw ScepFailure(FailInfo::bad_request, "the CSR's extensionRequest attribute cannot be read");
        return;
    }
    check_no_repeats(exts.get());
    ossl::Asn1BitString ku(static_cast<ASN1_BIT_STRING*>(decoded_extension(exts.get(), NID_key_usage)));
    if (ku) {
        uint32_t bits = 0;
        if (ku->length > 0) bits = ku->data[0];
        if (ku->length > 1) bits |= uint32_t(ku->data[1]) << 8;
        info.key_usage = bits;
    }
    ossl::ExtKeyUsage eku(static_cast<EXTENDED_KEY_USAGE*>(decoded_extension(exts.get(), NID_ext_key_usage)));
    for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
        char dotted[80];
        OBJ_obj2txt(dotted, sizeof dotted, sk_ASN1_OBJECT_value(eku.get(), i), 1);
        info.extended_key_usage.push_back(dotted);
    }
    ossl::BasicConstraints bc(static_cast<BASIC_CONSTRAINTS*>(decoded_extension(exts.get(), NID_basic_constraints)));
    info.requests_ca = bc && bc->ca;
    read_ca_powers(info, exts.get());
    ossl::GeneralNames readable(static_cast<GENERAL_NAMES*>(decoded_extension(exts.get(), NID_subject_alt_name)));
    read_sans(info);
}

const X509_ALGOR* signature_algorithm(X509_REQ* req) {
    const X509_ALGOR* alg = nullptr;
    X509_REQ_get0_signature(req, nullptr, &alg);
    return alg;
}

// The signature algorithm's name, or its dotted OID when OpenSSL has none.
std::string signature_algorithm_text(X509_REQ* req) {
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, signature_algorithm(req));
    char text[80] = "";
    OBJ_obj2txt(text, sizeof text, oid, 0);
    return text;
}

// RSASSA-PSS names its digest in the parameters, not in the OID (RFC 4055
// section 3.1); absent, it is SHA-1. strongSwan's --rsa-padding pss signs so.
int pss_digest_nid(X509_REQ* req) {
    const ASN1_OBJECT* oid = nullptr;
    int ptype = V_ASN1_UNDEF;
    const void* pval = nullptr;
    X509_ALGOR_get0(&oid, &ptype, &pval, signature_algorithm(req));
    if (ptype != V_ASN1_SEQUENCE) return NID_undef;
    const auto* seq = static_cast<const ASN1_STRING*>(pval);
    const unsigned char* p = ASN1_STRING_get0_data(seq);
    ossl::RsaPssParams params(d2i_RSA_PSS_PARAMS(nullptr, &p, ASN1_STRING_length(seq)));
    if (!params) return NID_undef;
    return params->hashAlgorithm ? OBJ_obj2nid(params->hashAlgorithm->algorithm) : NID_sha1;
}

Digest signature_digest_of(X509_REQ* req) {
    int md_nid = NID_undef, pk_nid = NID_undef;
    int sig_nid = X509_REQ_get_signature_nid(req);
    if (sig_nid == NID_rsassaPss) md_nid = pss_digest_nid(req);
    else OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid);
    switch (md_nid) {
        case NID_md5: return Digest::md5;
        case NID_sha1: return Digest::sha1;
        case NID_sha256: return Digest::sha256;
        case NID_sha384: return Digest::sha384;
        case NID_sha512: return Digest::sha512;
        default:
            clear_openssl_errors();
            throw ScepFailure(FailInfo::bad_alg,
                              "the CSR is signed with an unsupported algorithm (" + signature_algorithm_text(req) + ")");
    }
}

// The key, then the signature (over the bytes as received), checked.
void check_key_and_signature(CsrInfo& info, bool signature_verifies) {
    EVP_PKEY* key = info.key.get();
    if (key == nullptr) throw ScepFailure(FailInfo::bad_request, "the CSR's public key cannot be read");
    int id = EVP_PKEY_get_base_id(key);
    info.key_type = id == EVP_PKEY_RSA ? "rsa" : id == EVP_PKEY_EC ? "ec" : OBJ_nid2sn(id);
    info.key_bits = EVP_PKEY_get_bits(key);
    check_public_key(key);
    if (!signature_verifies) {
        clear_openssl_errors();
        throw ScepFailure(FailInfo::bad_message_check, "the CSR's signature does not verify");
    }
}

// d2i_X509_REQ, which decodes the key with OpenSSL 3.0's decoder.
bool read_with_own_key(CsrInfo& info, const Bytes& der) {
    const unsigned char* p = der.data();
    info.req.reset(d2i_X509_REQ(nullptr, &p, long(der.size())));
    if (!info.req || p != der.data() + der.size()) {
        clear_openssl_errors();
        throw ScepFailure(FailInfo::bad_request, "the decrypted content is not a PKCS#10 request");
    }
    info.key = ossl::up_ref(X509_REQ_get0_pubkey(info.req.get()));
    return info.key && X509_REQ_verify(info.req.get(), info.key.get()) == 1;
}

}  // namespace

long long validity_request_seconds(const std::string& period, const std::string& units) {
    static const std::map<std::string, long long> unit_seconds = {
        {"Years", 365LL * 86400}, {"Months", 30LL * 86400}, {"Weeks", 7LL * 86400}, {"Days", 86400}, {"Hours", 3600}};
    auto it = unit_seconds.find(period);
    if (it == unit_seconds.end())
        throw ScepFailure(FailInfo::bad_request, "the CSR's ValidityPeriod '" + period.substr(0, 40) +
                                                     "' is not Years, Months, Weeks, Days or Hours");
    long long n = 0;
    bool ok = !units.empty() && units.size() <= 6 && units[0] != '0';
    for (char ch : units) {
        ok = ok && ch >= '0' && ch <= '9';
        if (ok) n = n * 10 + (ch - '0');
    }
    if (!ok) throw ScepFailure(FailInfo::bad_request, "the CSR's ValidityPeriodUnits '" + units.substr(0, 40) +
                                                          "' is not a whole number from 1 to 999999");
    return n * it->second;
}

CsrInfo read_csr(const Bytes& der, const InputLimits& limits, X509* signer) {
    clear_openssl_errors();
    CsrInfo info;
    bool signature_verifies = false;
    if (auto known = read_csr_with_known_key(der, signer)) {
        info.req = std::move(known->req);
        info.key = std::move(known->key);
        signature_verifies = known->signature_verifies;
    } else {
        signature_verifies = read_with_own_key(info, der);
    }
    info.der = der;
    info.signature_digest = signature_digest_of(info.req.get());
    check_key_and_signature(info, signature_verifies);
    read_subject(info);
    read_challenge(info);
    read_extensions(info);
    read_name_value_pairs(info);
    check_csr_names(info, limits);
    return info;
}

}  // namespace scepter
