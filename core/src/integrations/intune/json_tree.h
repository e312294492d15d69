// Reading the few nested JSON answers of Entra ID and Microsoft Graph
// (an error with "error_codes": [...], discovery's "value": [...]), where
// the strict flat reader (util/json_flat.h) refuses by design. JSON is
// YAML 1.2's flow syntax, so yaml-cpp, which the core carries for its
// configuration, reads them; only string fields are ever taken from them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace scepter {

// The top-level string field `key` of a JSON object; nullopt when the text
// is not an object or the field is absent or not a scalar.
std::optional<std::string> json_top_string(const std::string& text, const std::string& key);

// Graph's endpoints answer {"value": [{"providerName": N, "uri": U}, ...]}
// as a map from N in lower case to U. Throws std::runtime_error when the
// text is not of that shape.
std::map<std::string, std::string> json_endpoint_map(const std::string& text);

// The objects of an answer's "value" array ({"value": [{...}, ...]}, as
// downloadRevocationRequests answers), each as its scalar fields; other
// fields and elements that are not objects are left out. Throws
// std::runtime_error when the text is not of that shape.
std::vector<std::map<std::string, std::string>> json_value_objects(const std::string& text);

}  // namespace scepter
