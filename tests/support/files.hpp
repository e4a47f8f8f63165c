#pragma once
// Files in the unit tests: a fresh folder per test, and a file's bytes.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace regtrace::capture::test {

/// The file's bytes ("" when it cannot be read).
inline std::string slurp(std::filesystem::path const& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// A fresh, empty directory under the system temp dir for one test.
inline std::filesystem::path scratch_dir(std::string const& name) {
  auto const dir = std::filesystem::temp_directory_path() /
                   ("regtrace-capture-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace regtrace::capture::test
