// `regtrace ca init|show|path|export` (SPEC §2); `docker-trust` is `ca trust --for docker` (ca_trust_command.cpp).
#include "proxy/commands/cli.hpp"
#include "tls/authority.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <system_error>

namespace regtrace::proxy {
namespace {

std::shared_ptr<tls::authority const> load_existing(std::filesystem::path const& ca_dir) {
  auto loaded = tls::authority::load(ca_dir);
  if (!loaded)
    throw std::runtime_error(loaded.error().message);  // the sentence already says how to create one
  return loaded.value();
}

void write_file(std::filesystem::path const& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path.string() + ": " + std::generic_category().message(errno));
}

}  // namespace

int run_ca_init(std::filesystem::path const& ca_dir) {
  bool created = false;
  auto authority = tls::authority::load_or_create(ca_dir, &created);
  if (!authority) throw std::runtime_error(authority.error().message);
  std::printf("%s %s\n",
              created ? "Created" : "Already present:", authority.value()->certificate_path().c_str());
  return 0;
}

int run_ca_show(std::filesystem::path const& ca_dir) {
  auto authority = load_existing(ca_dir);
  std::printf("Certificate: %s\nSubject:     %s\nNot after:   %s\nSHA-256:     %s\n",
              authority->certificate_path().c_str(), authority->subject().c_str(),
              authority->not_after().c_str(), authority->sha256_fingerprint().c_str());
  return 0;
}

int run_ca_path(std::filesystem::path const& ca_dir) {
  std::printf("%s\n", load_existing(ca_dir)->certificate_path().c_str());
  return 0;
}

int run_ca_export(std::filesystem::path const& ca_dir, bool der, std::filesystem::path const& output) {
  auto authority = load_existing(ca_dir);
  if (der) {
    if (output.empty()) throw std::runtime_error("--der writes binary data: name a file with -o FILE");
    auto bytes = authority->certificate_der();
    write_file(output, std::string_view(reinterpret_cast<char const*>(bytes.data()), bytes.size()));
    return 0;
  }
  auto pem = authority->certificate_pem();
  if (output.empty())
    std::fwrite(pem.data(), 1, pem.size(), stdout);
  else
    write_file(output, pem);
  return 0;
}

int run_ca_docker_trust(std::filesystem::path const& ca_dir, std::string const& registry,
                        std::filesystem::path const& certs_dir, bool dry_run) {
  return run_ca_trust({ca_dir, trust_runtime::docker, {registry}, certs_dir, {}, dry_run});
}

}  // namespace regtrace::proxy
