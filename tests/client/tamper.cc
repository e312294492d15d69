// `tamper`: damages a pkiMessage so that it still parses but no longer
// verifies. The byte is flipped in place in the original DER, so everything
// else (attributes, certificates, encodings) stays exactly as sent.
#include "testclient.h"

#include <openssl/cms.h>

#include <algorithm>
#include <iostream>

namespace scepter::testclient {
namespace {

// The bytes of the part to damage, inside the parsed message.
Bytes target_bytes(CMS_ContentInfo* cms, const std::string& where) {
    ASN1_OCTET_STRING* s = nullptr;
    if (where == "signature") {
        STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms);
        if (infos == nullptr || sk_CMS_SignerInfo_num(infos) < 1)
            throw std::runtime_error("the message has no SignerInfo");
        s = CMS_SignerInfo_get0_signature(sk_CMS_SignerInfo_value(infos, 0));
    } else if (where == "content") {
        ASN1_OCTET_STRING** pos = CMS_get0_content(cms);
        if (pos != nullptr) s = *pos;
    } else {
        throw UsageError("--where must be signature or content");
    }
    if (s == nullptr || ASN1_STRING_length(s) < 8)
        throw std::runtime_error("the message has no " + where + " to damage");
    const unsigned char* p = ASN1_STRING_get0_data(s);
    return Bytes(p, p + ASN1_STRING_length(s));
}

}  // namespace

int run_tamper(const Args& args) {
    Bytes der = read_file(args.require("in"));
    std::string where = args.get("where", "signature");
    const unsigned char* p = der.data();
    ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
    if (!cms) throw_openssl("not a CMS message");
    Bytes part = target_bytes(cms.get(), where);
    auto at = std::search(der.begin(), der.end(), part.begin(), part.end());
    if (at == der.end()) throw std::runtime_error("cannot locate the " + where + " in the DER");
    std::size_t offset = static_cast<std::size_t>(at - der.begin()) + part.size() / 2;
    der[offset] ^= 0xff;
    write_file(args.require("out"), der);
    std::cout << "{\"where\":" << json_quote(where) << ",\"offset\":" << offset << "}\n";
    return 0;
}

}  // namespace scepter::testclient
