// scepter requests list|show|approve|deny: the requests that wait for an
// administrator (templates with require_approval). The device was answered
// PENDING and polls; the decision taken here is what its next poll gets.
#include "admin_common.h"
#include "scepter/der.h"
#include "scepter/text.h"
#include "cli.h"
#include "lifecycle.h"
#include "scepter/ossl.h"

#include <openssl/x509.h>

#include <iostream>
#include <optional>

namespace scepter::cli {
namespace {

constexpr std::size_t kDefaultLimit = 100;

constexpr const char* kRequestsHelp =
    "Usage: scepter requests list --config FILE [--status STATUS] [--limit N]\n"
    "       scepter requests show --config FILE TRANSACTION_ID\n"
    "       scepter requests approve --config FILE TRANSACTION_ID [--reason TEXT]\n"
    "       scepter requests deny --config FILE TRANSACTION_ID [--reason TEXT]\n"
    "\n"
    "Requests for a template with require_approval wait here; the device is\n"
    "answered PENDING and polls until an administrator decides.\n"
    "\n"
    "list     prints a table of the requests, newest first (default limit 100):\n"
    "         TRANSACTION_ID STATUS PROFILE TEMPLATE SUBJECT REQUESTER CREATED.\n"
    "         STATUS is pending (the default), approved, denied, issued or all.\n"
    "show     prints every stored field of one request, then its CSR as PEM.\n"
    "approve  the device's next poll is issued a certificate.\n"
    "deny     the device's next poll is refused (badRequest, with the reason).\n"
    "         approve and deny print `TRANSACTION_ID: approved|denied`; they\n"
    "         fail (exit 1) when the request is unknown or no longer pending.\n"
    "\n"
    "The store is the one `store.sqlite` in FILE names; it is never created here.\n";

const char* message_type_name(int type) {
    switch (type) {
        case 17: return "RenewalReq";
        case 19: return "PKCSReq";
        default: return "unknown";
    }
}

// The subject of the certificate the request was signed with: the device's
// self-signed one for a PKCSReq, its current one for a RenewalReq.
std::string signer_subject(const std::vector<unsigned char>& der) {
    ossl::X509Ptr cert = cert_from_der(der);
    if (!cert) return "(unreadable)";
    ossl::Bio bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_RFC2253) < 0) {
        return "(unreadable)";
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, std::size_t(len));
}

int list_requests(const std::string& config_file, const std::string& status, std::size_t limit) {
    std::vector<std::vector<std::string>> rows{
        {"TRANSACTION_ID", "STATUS", "PROFILE", "TEMPLATE", "SUBJECT", "REQUESTER", "CREATED"}};
    for (const auto& r : open_admin(config_file)->list_requests(status, limit)) {
        rows.push_back({r.transaction_id, r.status, r.profile, r.template_name, r.subject,
                        r.requester_ip, iso8601_utc(r.created_at)});
    }
    print_table(rows);
    return kExitOk;
}

void print_request(const PendingRequest& r) {
    std::vector<std::vector<std::string>> rows{
        {"transaction_id:", r.transaction_id},
        {"status:", r.status},
        {"reason:", r.reason},
        {"profile:", r.profile},
        {"template:", r.template_name},
        {"message_type:", std::string(message_type_name(r.message_type)) + " (" + std::to_string(r.message_type) + ")"},
        {"subject:", r.subject},
        {"requester_ip:", r.requester_ip},
        {"signer:", signer_subject(r.signer_der)},
        {"created_at:", iso8601_utc(r.created_at)},
        {"updated_at:", iso8601_utc(r.updated_at)}};
    if (!r.serial_hex.empty()) rows.push_back({"serial:", r.serial_hex});
    print_table(rows);
    std::cout << pem_encode(r.csr_der, "CERTIFICATE REQUEST");
}

int show_request(const std::string& config_file, const std::string& id) {
    auto request = open_admin(config_file)->find_request(id);
    if (!request) {
        std::cerr << "scepter: no request with transaction ID '" << id << "'\n";
        return kExitFailure;
    }
    print_request(*request);
    return kExitOk;
}

int decide_request(const std::string& config_file, const std::string& id, bool approve,
                   const std::string& reason) {
    RequestDecision decision = open_admin(config_file)->decide_request(id, approve, reason);
    if (decision.decided) {
        std::cout << id << ": " << (approve ? "approved" : "denied") << "\n";
        return kExitOk;
    }
    if (!decision.request) {
        std::cerr << "scepter: no request with transaction ID '" << id << "'\n";
    } else {
        std::cerr << "scepter: request '" << id << "' is " << decision.request->status
                  << ", not pending: it can no longer be " << (approve ? "approved" : "denied") << "\n";
    }
    return kExitFailure;
}

// Which options each subcommand takes; anything else is a usage error.
void check_options(const std::string& sub, const ParsedArgs& parsed) {
    bool list = sub == "list";
    bool decision = sub == "approve" || sub == "deny";
    if (!list && (parsed.has("--status") || parsed.has("--limit"))) {
        throw UsageError(std::string(parsed.has("--status") ? "--status" : "--limit") +
                             " belongs to requests list", "requests");
    }
    if (!decision && parsed.has("--reason")) {
        throw UsageError("--reason belongs to requests approve and deny", "requests");
    }
    std::size_t words = list ? 1 : 2;
    if (parsed.positionals.size() != words) {
        throw UsageError(list ? "requests list takes no arguments"
                              : "requests " + sub + " takes one TRANSACTION_ID", "requests");
    }
}

}  // namespace

std::string request_status_filter(const std::string& option) {
    if (option == "all") return "";
    if (option == "pending" || option == "approved" || option == "denied" || option == "issued") return option;
    throw UsageError("--status is pending, approved, denied, issued or all, not '" + option + "'", "requests");
}

int run_requests(const std::vector<std::string>& args) {
    ParsedArgs parsed = parse_args(args, {"--config", "--status", "--limit", "--reason"}, {}, "requests");
    if (parsed.help) {
        std::cout << kRequestsHelp;
        return kExitOk;
    }
    if (parsed.positionals.empty()) throw UsageError("requests needs list, show, approve or deny", "requests");
    const std::string sub = parsed.positionals[0];
    if (sub != "list" && sub != "show" && sub != "approve" && sub != "deny") {
        throw UsageError("unknown requests command '" + sub + "'", "requests");
    }
    if (!parsed.has("--config")) throw UsageError("requests " + sub + " needs --config FILE", "requests");
    check_options(sub, parsed);
    const std::string& config_file = parsed.options["--config"];
    if (sub == "list") {
        std::string status = request_status_filter(parsed.has("--status") ? parsed.options["--status"] : "pending");
        std::size_t limit = parsed.has("--limit") ? parse_limit(parsed.options["--limit"], "requests") : kDefaultLimit;
        return list_requests(config_file, status, limit);
    }
    const std::string& id = parsed.positionals[1];
    if (sub == "show") return show_request(config_file, id);
    return decide_request(config_file, id, sub == "approve", parsed.options["--reason"]);
}

}  // namespace scepter::cli
