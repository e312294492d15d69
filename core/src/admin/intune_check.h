// `scepter intune check` behind Admin::check_intune.
#pragma once

#include "ca/ca_material.h"
#include "scepter/admin.h"

#include <functional>
#include <vector>

namespace scepter {

std::vector<Admin::IntuneStage> run_intune_check(const Profile& profile, const CaMaterial& ca,
                                                 const std::function<void(const Admin::IntuneStage&)>& report);

}  // namespace scepter
