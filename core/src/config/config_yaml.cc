// YAML → Config. Every key is checked (unknown keys are errors, so a typo
// never silently falls back to a default), and every error names the file,
// the line and the dotted key.
#include "config/config_yaml.h"

#include "scepter/config.h"

#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <set>

namespace scepter {

ConfigError::ConfigError(const std::string& file, int line, const std::string& key,
                         const std::string& why)
    : std::runtime_error(file + (line > 0 ? ":" + std::to_string(line) : std::string()) +
                         (key.empty() ? std::string() : ": key '" + key + "'") + ": " + why) {}

int Config::line_of(const std::string& dotted_key) const {
    auto it = lines.find(dotted_key);
    return it == lines.end() ? 0 : it->second;
}

YamlSection::YamlSection(const YAML::Node& node, std::string key, Config& cfg)
    : node_(node), key_(std::move(key)), cfg_(cfg) {
    if (!node_.IsMap()) fail("must be a mapping");
    std::set<std::string> seen;
    for (const auto& kv : node_) {
        // YAML allows any node as a key ("? [a, b]", "~"); ours are names. Checked
        // here, so every later reading of this mapping's keys is a plain string.
        if (!kv.first.IsScalar())
            throw ConfigError(cfg_.path, kv.first.Mark().line + 1, key_, "a key must be a plain name");
        std::string name = kv.first.as<std::string>();
        // yaml-cpp keeps both; which one counts would be a guess, so neither does.
        if (!seen.insert(name).second)
            throw ConfigError(cfg_.path, kv.first.Mark().line + 1, child_key(name),
                              "is given twice (first on line " + std::to_string(cfg_.line_of(child_key(name))) + ")");
        cfg_.lines[child_key(name)] = kv.first.Mark().line + 1;
    }
}

std::string YamlSection::child_key(const std::string& name) const {
    return key_.empty() ? name : key_ + "." + name;
}

int YamlSection::line() const { return node_.Mark().line + 1; }

void YamlSection::fail(const std::string& why) const {
    throw ConfigError(cfg_.path, line(), key_, why);
}

void YamlSection::fail_at(const std::string& name, const std::string& why) const {
    throw ConfigError(cfg_.path, cfg_.line_of(child_key(name)), child_key(name), why);
}

void YamlSection::allow_only(std::initializer_list<const char*> names) const {
    for (const auto& kv : node_) {
        std::string name = kv.first.as<std::string>();
        bool known = false;
        for (const char* n : names) known = known || name == n;
        if (!known) fail_at(name, "unknown key");
    }
}

bool YamlSection::has(const std::string& name) const { return bool(node_[name]); }

YAML::Node YamlSection::raw(const std::string& name) const { return node_[name]; }

YamlSection YamlSection::section(const std::string& name) const {
    if (!has(name)) fail_at(name, "is required");
    return YamlSection(node_[name], child_key(name), cfg_);
}

std::string YamlSection::string(const std::string& name) const {
    if (!has(name)) fail_at(name, "is required");
    const YAML::Node& n = node_[name];
    if (!n.IsScalar()) fail_at(name, "must be a string");
    std::string v = n.as<std::string>();
    if (v.empty()) fail_at(name, "must not be empty");
    return v;
}

std::string YamlSection::string_or(const std::string& name, const std::string& dflt) const {
    return has(name) ? string(name) : dflt;
}

long YamlSection::integer_or(const std::string& name, long dflt, long min, long max) const {
    if (!has(name)) return dflt;
    long v = 0;
    try {
        v = node_[name].as<long>();
    } catch (const YAML::Exception&) {
        fail_at(name, "must be a whole number");
    }
    if (v < min || v > max)
        fail_at(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return v;
}

bool YamlSection::boolean_or(const std::string& name, bool dflt) const {
    if (!has(name)) return dflt;
    try {
        return node_[name].as<bool>();
    } catch (const YAML::Exception&) {
        fail_at(name, "must be true or false");
    }
    return dflt;
}

std::vector<std::string> YamlSection::list(const std::string& name) const {
    std::vector<std::string> out;
    if (!has(name)) return out;
    const YAML::Node& n = node_[name];
    if (!n.IsSequence()) fail_at(name, "must be a list");
    for (const auto& item : n) {
        if (!item.IsScalar()) fail_at(name, "must be a list of strings");
        out.push_back(item.as<std::string>());
    }
    return out;
}

std::string resolve_path(const std::string& config_path, const std::string& p) {
    if (p.empty() || p[0] == '/') return p;
    auto slash = config_path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : config_path.substr(0, slash);
    return dir + "/" + p;
}

std::string YamlSection::path(const std::string& name) const {
    return resolve_path(cfg_.path, string(name));
}

std::string YamlSection::readable_file(const std::string& name) const {
    std::string p = path(name);
    if (access(p.c_str(), R_OK) != 0) fail_at(name, "cannot read '" + p + "': " + std::strerror(errno));
    return p;
}

namespace {

// yaml-cpp often notices a wrongly indented line only at the line after it,
// and says so there. When the two lines' indentation differs, both are
// named, so the admin also looks at the one before.
std::string indentation_hint(const std::string& text, int error_line) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    auto meaningful = [&](int i) {
        auto first = lines[std::size_t(i)].find_first_not_of(' ');
        return first != std::string::npos && lines[std::size_t(i)][first] != '#';
    };
    int here = error_line - 1;  // 0-based
    if (here <= 0 || here >= int(lines.size()) || !meaningful(here)) return "";
    int before = here - 1;
    while (before >= 0 && !meaningful(before)) --before;
    if (before < 0) return "";
    auto indent = [&](int i) { return int(lines[std::size_t(i)].find_first_not_of(' ')); };
    if (indent(before) == indent(here)) return "";
    return " (line " + std::to_string(before + 1) + " is indented " + std::to_string(indent(before)) +
           " spaces, line " + std::to_string(here + 1) + " " + std::to_string(indent(here)) +
           ": the keys of one mapping line up, so one of the two is off)";
}

}  // namespace

YAML::Node parse_yaml_file(const std::string& path) {
    // Opened here rather than by yaml-cpp, whose BadFile does not say why.
    std::ifstream in(path);
    if (!in) throw ConfigError(path, 0, "", std::string("cannot open the configuration file: ") + std::strerror(errno));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
        return YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        throw ConfigError(path, e.mark.line + 1, "", "YAML syntax error: " + e.msg + indentation_hint(text, e.mark.line + 1));
    }
}

}  // namespace scepter
