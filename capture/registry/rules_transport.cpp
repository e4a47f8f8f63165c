// Catalog §3 group A rules.
#include "capture/registry/rules_detail.hpp"

namespace regtrace::capture::registry::detail {

void transport_rules(facts_span trace, std::vector<finding>& out) {
  (void)trace;
  (void)out;
}

}  // namespace regtrace::capture::registry::detail
