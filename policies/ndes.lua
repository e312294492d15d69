-- NDES's template choice, as MSCEP makes it from the registry values
-- SignatureTemplate, EncryptionTemplate and GeneralPurposeTemplate:
-- the CSR's keyUsage decides, and only two of its bits count.
--
--   digitalSignature alone   -> templates.signature
--   keyEncipherment alone    -> templates.encryption
--   both, or neither         -> templates.general_purpose
--
-- The names come from the profile (req.templates); a missing one leaves the
-- choice to the profile.

local function ndes_template_key(key_usage)
  local sign = scep.contains(key_usage, "digitalSignature")
  local encrypt = scep.contains(key_usage, "keyEncipherment")
  if sign and not encrypt then return "signature" end
  if encrypt and not sign then return "encryption" end
  return "general_purpose"
end

function verify_request(req)
  return scep.allow(req.templates[ndes_template_key(req.key_usage)])
end
