// argv → configuration → run, nothing else (STYLE layout).
#include "proxy/commands/cli.hpp"

int main(int argc, char** argv) {
  return regtrace::proxy::run_command_line(argc, argv);
}
