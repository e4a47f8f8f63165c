#include "proxy/commands/trust_plan.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <string>

using namespace regtrace::proxy;

namespace {

// The disk as the planner sees it.
struct fake_disk {
  std::map<std::string, std::string> files;
  file_reader reader() const {
    return [this](std::filesystem::path const& p) -> std::optional<std::string> {
      auto it = files.find(p.string());
      if (it == files.end()) return std::nullopt;
      return it->second;
    };
  }
};

constexpr char const* pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

}  // namespace

TEST_CASE("runtime names and their own folders", "[trust]") {
  CHECK(trust_runtime_from_string("containerd") == trust_runtime::containerd);
  CHECK(trust_runtime_from_string("Podman") == trust_runtime::podman);
  CHECK_FALSE(trust_runtime_from_string("cri-o").has_value());
  CHECK(default_trust_dir(trust_runtime::docker) == "/etc/docker/certs.d");
  CHECK(default_trust_dir(trust_runtime::containerd) == "/etc/containerd/certs.d");
  CHECK(default_trust_dir(trust_runtime::podman) == "/etc/containers/certs.d");
  CHECK(default_trust_dir(trust_runtime::system) == "/usr/local/share/ca-certificates");
}

TEST_CASE("docker and podman: ca.crt in the registry's folder, marked as regtrace's", "[trust]") {
  fake_disk disk;
  for (auto runtime : {trust_runtime::docker, trust_runtime::podman}) {
    auto plan = plan_trust(runtime, {"registry.test:5000", "quay.io"}, "/d", pem, disk.reader());
    REQUIRE(plan.files.size() == 2);
    CHECK(plan.files[0].path == "/d/registry.test:5000/ca.crt");
    CHECK(plan.files[1].path == "/d/quay.io/ca.crt");
    CHECK(written_by_regtrace(plan.files[0].content));
    CHECK(plan.files[0].content.ends_with(pem));
    CHECK_FALSE(plan.update_system_store);
  }
}

TEST_CASE("a ca.crt someone else wrote is kept: regtrace's CA goes beside it", "[trust]") {
  fake_disk disk{{{"/d/r.test/ca.crt", "their CA"}}};
  auto plan = plan_trust(trust_runtime::docker, {"r.test"}, "/d", pem, disk.reader());
  REQUIRE(plan.files.size() == 1);
  CHECK(plan.files[0].path == "/d/r.test/regtrace-ca.crt");
  REQUIRE(plan.notes.size() == 1);
  CHECK(plan.notes[0].find("not regtrace's") != std::string::npos);
  // regtrace's own earlier ca.crt is simply rewritten.
  disk.files["/d/r.test/ca.crt"] = plan.files[0].content;
  CHECK(plan_trust(trust_runtime::docker, {"r.test"}, "/d", pem, disk.reader()).files[0].path == "/d/r.test/ca.crt");
}

TEST_CASE("containerd: hosts.toml naming the CA beside it; Docker Hub's API host for docker.io", "[trust]") {
  fake_disk disk;
  auto plan = plan_trust(trust_runtime::containerd, {"registry.test:5000", "docker.io"}, "/c", pem, disk.reader());
  REQUIRE(plan.files.size() == 4);
  CHECK(plan.files[0].path == "/c/registry.test:5000/regtrace-ca.crt");
  CHECK(plan.files[1].path == "/c/registry.test:5000/hosts.toml");
  auto const& toml = plan.files[1].content;
  CHECK(written_by_regtrace(toml));
  CHECK(toml.find("server = \"https://registry.test:5000\"") != std::string::npos);
  CHECK(toml.find("\n[host]\n") != std::string::npos);
  CHECK(toml.find("ca = \"/c/registry.test:5000/regtrace-ca.crt\"") != std::string::npos);
  CHECK(plan.files[3].content.find("server = \"https://registry-1.docker.io\"") != std::string::npos);
}

TEST_CASE("containerd: a hosts.toml regtrace did not write is never overwritten", "[trust]") {
  fake_disk disk{{{"/c/r.test/hosts.toml", "server = \"https://mirror\"\n"}}};
  CHECK_THROWS_WITH(plan_trust(trust_runtime::containerd, {"r.test"}, "/c", pem, disk.reader()),
                    Catch::Contains("was not written by regtrace") && Catch::Contains("ca = \"/c/r.test/regtrace-ca.crt\""));
}

TEST_CASE("system: one file and update-ca-certificates, no host names", "[trust]") {
  fake_disk disk;
  auto plan = plan_trust(trust_runtime::system, {}, "/s", pem, disk.reader());
  REQUIRE(plan.files.size() == 1);
  CHECK(plan.files[0].path == "/s/regtrace-ca.crt");
  CHECK(plan.update_system_store);
  CHECK_THROWS_WITH(plan_trust(trust_runtime::system, {"r.test"}, "/s", pem, disk.reader()),
                    Catch::Contains("give no HOST"));
}

TEST_CASE("bad registry names are refused with a sentence", "[trust]") {
  fake_disk disk;
  CHECK_THROWS_WITH(plan_trust(trust_runtime::docker, {}, "/d", pem, disk.reader()), Catch::Contains("name the registries"));
  for (auto bad : {"a/b", "../etc", "host:0", "host:99999", "", "[::1"})
    CHECK_THROWS_AS(plan_trust(trust_runtime::docker, {bad}, "/d", pem, disk.reader()), std::runtime_error);
}

TEST_CASE("untrust removes only the files regtrace wrote", "[trust]") {
  fake_disk disk;
  for (auto const& f : plan_trust(trust_runtime::containerd, {"r.test"}, "/c", pem, disk.reader()).files)
    disk.files[f.path.string()] = f.content;
  auto plan = plan_untrust(trust_runtime::containerd, {"r.test"}, "/c", disk.reader());
  CHECK(plan.files.size() == 2);

  fake_disk mixed{{{"/d/r.test/ca.crt", "their CA"}}};
  for (auto const& f : plan_trust(trust_runtime::docker, {"r.test"}, "/d", pem, mixed.reader()).files)
    mixed.files[f.path.string()] = f.content;
  auto docker = plan_untrust(trust_runtime::docker, {"r.test"}, "/d", mixed.reader());
  REQUIRE(docker.files.size() == 1);
  CHECK(docker.files[0].path == "/d/r.test/regtrace-ca.crt");
  REQUIRE(docker.notes.size() == 1);
  CHECK(docker.notes[0].find("did not write") != std::string::npos);
}

TEST_CASE("containerd's config: config_path must name the certs.d folder", "[trust]") {
  std::filesystem::path const config = "/etc/containerd/config.toml", dir = "/etc/containerd/certs.d";
  CHECK(containerd_config_advice(
            "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n",
            config, dir)
            .empty());
  CHECK(containerd_config_advice("config_path = \"/etc/containerd/certs.d/:/etc/docker/certs.d\"", config, dir).empty());
  auto missing = containerd_config_advice(std::nullopt, config, dir);
  CHECK(missing.find("does not exist") != std::string::npos);
  CHECK(missing.find("config_path = \"/etc/containerd/certs.d\"") != std::string::npos);
  auto other = containerd_config_advice("config_path = \"\"\n", config, dir);
  CHECK(other.find("does not name /etc/containerd/certs.d") != std::string::npos);
  CHECK(other.find("--hosts-dir") != std::string::npos);
}
