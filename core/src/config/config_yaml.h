// A strict view of one YAML mapping: typed getters that report the file, the
// line and the dotted key of any mistake.
#pragma once

#include "scepter/config.h"

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace scepter {

class YamlSection {
   public:
    YamlSection(const YAML::Node& node, std::string key, Config& cfg);

    void allow_only(std::initializer_list<const char*> names) const;
    bool has(const std::string& name) const;
    YAML::Node raw(const std::string& name) const;
    YamlSection section(const std::string& name) const;

    std::string string(const std::string& name) const;
    std::string string_or(const std::string& name, const std::string& dflt) const;
    long integer_or(const std::string& name, long dflt, long min, long max) const;
    bool boolean_or(const std::string& name, bool dflt) const;
    std::vector<std::string> list(const std::string& name) const;
    // A path, made absolute against the configuration file's directory.
    std::string path(const std::string& name) const;
    // A path that must name a readable file now.
    std::string readable_file(const std::string& name) const;

    [[noreturn]] void fail(const std::string& why) const;
    [[noreturn]] void fail_at(const std::string& name, const std::string& why) const;

    const std::string& key() const { return key_; }
    std::string child_key(const std::string& name) const;
    const YAML::Node& node() const { return node_; }
    Config& config() const { return cfg_; }

   private:
    int line() const;

    YAML::Node node_;
    std::string key_;
    Config& cfg_;
};

YAML::Node parse_yaml_file(const std::string& path);

// A path from the file, made absolute against the file's own directory.
std::string resolve_path(const std::string& config_path, const std::string& p);

}  // namespace scepter
