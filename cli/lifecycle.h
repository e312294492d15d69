// The certificate-lifecycle commands (scepter requests ..., scepter certs
// revoke) and the names they accept and print, separate from the commands
// so that unit tests can check them.
#pragma once

#include "cli.h"

#include <optional>
#include <string>

namespace scepter::cli {

// RFC 5280 CRLReason names `certs revoke --reason` accepts (any case), as
// the code the store keeps. Empty optional for anything else, including the
// codes that exist but are no reason to revoke a device certificate.
std::optional<int> revocation_reason_code(const std::string& name);
// The name of a stored code, for certs list/show: "keyCompromise"; "reason
// N" for a code without a name.
std::string revocation_reason_name(int code);
// "unspecified|keyCompromise|...": for help texts and error messages.
std::string revocation_reason_choices();

// `requests list --status` as the store's filter: "" for all. Throws
// UsageError for anything but pending|approved|denied|issued|all.
std::string request_status_filter(const std::string& option);

// certs revoke, with the words after "certs" already parsed.
int run_certs_revoke(const ParsedArgs& parsed);

}  // namespace scepter::cli
