#pragma once
// This machine's name, as the fleet tools know a node: the trace's log.creator._node and the OTLP
// resource's host.name (issue 15).

#include <string>

namespace regtrace::proxy {

/// gethostname(); "" when the system has none to give.
std::string local_host_name();

}  // namespace regtrace::proxy
