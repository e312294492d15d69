#include "cli.h"

#include <optional>
#include <utility>

namespace scepter::cli {
namespace {

// Splits "--name=value" into its parts; value is empty without '='.
std::pair<std::string, std::optional<std::string>> split_option(const std::string& word) {
    auto eq = word.find('=');
    if (eq == std::string::npos) return {word, std::nullopt};
    return {word.substr(0, eq), word.substr(eq + 1)};
}

}  // namespace

ParsedArgs parse_args(const std::vector<std::string>& args,
                      const std::set<std::string>& value_options,
                      const std::set<std::string>& flags, const std::string& command) {
    ParsedArgs out;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& word = args[i];
        if (options_done || word.size() < 2 || word[0] != '-') {
            out.positionals.push_back(word);
        } else if (word == "--") {
            options_done = true;
        } else if (word == "-h" || word == "--help") {
            out.help = true;
        } else {
            auto [name, inline_value] = split_option(word);
            if (flags.count(name) != 0) {
                if (inline_value) throw UsageError("option " + name + " takes no value", command);
                out.options[name] = "";
            } else if (value_options.count(name) != 0) {
                if (!inline_value && i + 1 >= args.size()) {
                    throw UsageError("option " + name + " needs a value", command);
                }
                out.options[name] = inline_value ? *inline_value : args[++i];
            } else {
                throw UsageError("unknown option " + name, command);
            }
        }
    }
    return out;
}

}  // namespace scepter::cli
