#include "proxy/config/local_host.hpp"

#include <unistd.h>

namespace regtrace::proxy {

std::string local_host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

}  // namespace regtrace::proxy
