#include "integrations/intune/json_tree.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <stdexcept>

namespace scepter {
namespace {

std::optional<YAML::Node> load(const std::string& text) {
    // Only an object: a bare scalar would be read as YAML text.
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || text[first] != '{') return std::nullopt;
    try {
        YAML::Node n = YAML::Load(text);
        if (n.IsMap()) return n;
    } catch (const YAML::Exception&) {
    }
    return std::nullopt;
}

std::string lower(std::string s) {
    for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::optional<std::string> json_top_string(const std::string& text, const std::string& key) {
    auto n = load(text);
    if (!n) return std::nullopt;
    try {
        YAML::Node v = (*n)[key];
        if (v && v.IsScalar()) return v.as<std::string>();
    } catch (const YAML::Exception&) {
    }
    return std::nullopt;
}

std::map<std::string, std::string> json_endpoint_map(const std::string& text) {
    auto n = load(text);
    if (!n) throw std::runtime_error("the answer is not a JSON object");
    std::map<std::string, std::string> out;
    try {
        YAML::Node value = (*n)["value"];
        if (!value || !value.IsSequence()) throw std::runtime_error("the answer has no \"value\" array");
        for (const auto& e : value) {
            if (!e.IsMap()) continue;
            YAML::Node name = e["providerName"] ? e["providerName"] : e["serviceName"];
            YAML::Node uri = e["uri"];
            if (name && name.IsScalar() && uri && uri.IsScalar()) out[lower(name.as<std::string>())] = uri.as<std::string>();
        }
    } catch (const YAML::Exception& ex) {
        throw std::runtime_error(std::string("the answer could not be read: ") + ex.what());
    }
    return out;
}

std::vector<std::map<std::string, std::string>> json_value_objects(const std::string& text) {
    auto n = load(text);
    if (!n) throw std::runtime_error("the answer is not a JSON object");
    std::vector<std::map<std::string, std::string>> out;
    try {
        YAML::Node value = (*n)["value"];
        if (!value || !value.IsSequence()) throw std::runtime_error("the answer has no \"value\" array");
        for (const auto& e : value) {
            if (!e.IsMap()) continue;
            std::map<std::string, std::string> fields;
            for (const auto& kv : e)
                if (kv.first.IsScalar() && kv.second.IsScalar())
                    fields[kv.first.as<std::string>()] = kv.second.as<std::string>();
            out.push_back(std::move(fields));
        }
    } catch (const YAML::Exception& ex) {
        throw std::runtime_error(std::string("the answer could not be read: ") + ex.what());
    }
    return out;
}

}  // namespace scepter
