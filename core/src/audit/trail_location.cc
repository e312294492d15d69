// Where a configuration's audit trail is: its audit_log, read alone.
#include "config/config_yaml.h"
#include "scepter/audit_trail.h"

namespace scepter {

TrailLocation trail_of_config(const std::string& config_file) noexcept {
    try {
        YAML::Node root = parse_yaml_file(config_file);
        if (!root.IsMap()) return {"", config_file + ": not a YAML mapping"};
        YAML::Node audit = root["audit_log"];
        if (!audit || !audit.IsScalar() || audit.as<std::string>().empty())
            return {"", config_file + " has no audit_log: its audit lines go to the web server's error log "
                                      "(give the trail with --audit-log)"};
        return {resolve_path(config_file, audit.as<std::string>()), ""};
    } catch (const std::exception& e) {
        return {"", e.what()};
    }
}

}  // namespace scepter
