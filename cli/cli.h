// Shared pieces of the `scepter` command-line tool: exit codes, usage errors
// and a small argument parser. One file per command group implements run_*.
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace scepter::cli {

// Exit codes: 0 success, 1 the command failed, 2 the command line is wrong.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// A mistake on the command line: main prints it with a hint and exits 2.
class UsageError : public std::runtime_error {
   public:
    UsageError(const std::string& why, std::string command)
        : std::runtime_error(why), command_(std::move(command)) {}
    const std::string& command() const noexcept { return command_; }  // "" = top level

   private:
    std::string command_;
};

struct ParsedArgs {
    std::map<std::string, std::string> options;  // "--config" -> "FILE"; flags -> ""
    std::vector<std::string> positionals;
    bool help = false;

    bool has(const std::string& name) const { return options.count(name) != 0; }
};

// Parses args (the words after the command). value_options take a value
// ("--config FILE" or "--config=FILE"); flags take none; "-h"/"--help" set
// help; "--" ends the options. Throws UsageError naming `command`.
ParsedArgs parse_args(const std::vector<std::string>& args,
                      const std::set<std::string>& value_options,
                      const std::set<std::string>& flags, const std::string& command);

// Each command group: args are the words after its name.
int run_init(const std::vector<std::string>& args);
int run_certs(const std::vector<std::string>& args);
int run_requests(const std::vector<std::string>& args);
int run_config(const std::vector<std::string>& args);
int run_policy(const std::vector<std::string>& args);
int run_status(const std::vector<std::string>& args);
int run_challenge(const std::vector<std::string>& args);
int run_trace(const std::vector<std::string>& args);
int run_ra(const std::vector<std::string>& args);
int run_intune(const std::vector<std::string>& args);
int run_store(const std::vector<std::string>& args);

}  // namespace scepter::cli
