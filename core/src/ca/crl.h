// The CA's CRL: built from the store's revoked certificates, signed by the
// CA, kept in the store so every worker (and the CLI) serves the same one.
#pragma once

#include "ca/ca_material.h"
#include "scepter/config.h"
#include "scepter/store.h"

namespace scepter {

// Signs a new CRL (next number, thisUpdate now, nextUpdate after the
// configured validity) from the store's revocations and saves it.
CrlRecord publish_crl(const Config& cfg, const CaMaterial& ca, Store& store);

// The latest CRL, republished first when there is none or it is within the
// configured refresh margin of its nextUpdate.
CrlRecord current_crl(const Config& cfg, const CaMaterial& ca, Store& store);

}  // namespace scepter
