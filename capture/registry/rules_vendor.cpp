// Catalog §3 group E rules.
#include "capture/registry/rules_detail.hpp"

namespace regtrace::capture::registry::detail {

void vendor_rules(facts_span trace, std::vector<finding>& out) {
  (void)trace;
  (void)out;
}

}  // namespace regtrace::capture::registry::detail
