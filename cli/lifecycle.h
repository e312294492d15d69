// The certificate-lifecycle commands (scepter requests ..., scepter certs
// revoke) and the names they accept and print, separate from the commands
// so that unit tests can check them.
#pragma once

#include "cli.h"
#include "scepter/text.h"

#include <optional>
#include <string>

namespace scepter::cli {

// The CRLReason names (revocation_reason_code, _name, _choices) are the
// core's (scepter/text.h).
using scepter::revocation_reason_choices;
using scepter::revocation_reason_code;
using scepter::revocation_reason_name;

// `requests list --status` as the store's filter: "" for all. Throws
// UsageError for anything but pending|approved|denied|issued|all.
std::string request_status_filter(const std::string& option);

// certs revoke, with the words after "certs" already parsed.
int run_certs_revoke(const ParsedArgs& parsed);

}  // namespace scepter::cli
