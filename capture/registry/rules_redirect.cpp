// Catalog §3 group D rules.
#include "capture/registry/rules_detail.hpp"

namespace regtrace::capture::registry::detail {

void redirect_rules(facts_span trace, std::vector<finding>& out) {
  (void)trace;
  (void)out;
}

}  // namespace regtrace::capture::registry::detail
