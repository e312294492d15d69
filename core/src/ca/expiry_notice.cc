#include "ca/expiry_notice.h"

#include "ca/x509_text.h"
#include "scepter/text.h"

#include <openssl/x509.h>

namespace scepter {
namespace {

// Whole days from now to the certificate's notAfter (negative: expired).
int days_left(X509* cert, std::int64_t now, std::int64_t& not_after) {
    not_after = unix_time(X509_get0_notAfter(cert));
    std::int64_t seconds = not_after - now;
    return int(seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400));
}

void check(std::vector<std::string>& out, X509* cert, const char* what, std::int64_t now, int days) {
    std::int64_t not_after = 0;
    int left = days_left(cert, now, not_after);
    if (left > days) return;
    std::string when = iso8601_utc(not_after);
    out.push_back(std::string("the ") + what + " certificate '" + name_text(X509_get_subject_name(cert)) + "' " +
                  (not_after <= now ? "expired on " + when + ": renew it now"
                                    : "expires on " + when + " (in " + std::to_string(left) +
                                          (left == 1 ? " day" : " days") + "): renew it before then"));
}

}  // namespace

std::vector<std::string> expiry_warnings(const CaMaterial& ca, std::int64_t now, int days) {
    std::vector<std::string> out;
    check(out, ca.ca.cert.get(), "CA", now, days);
    for (const auto& c : ca.chain) check(out, c.get(), "chain", now, days);
    if (!ca.ca_is_ra) {
        check(out, ca.ra_signing.cert.get(), "RA signing", now, days);
        if (X509_cmp(ca.ra_encryption.cert.get(), ca.ra_signing.cert.get()) != 0)
            check(out, ca.ra_encryption.cert.get(), "RA encryption", now, days);
    }
    return out;
}

}  // namespace scepter
