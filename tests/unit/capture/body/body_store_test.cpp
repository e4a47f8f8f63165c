// The body store (--store-bodies DIR) given hostile digests from a trace (issue 13, SPEC §8): nothing
// outside DIR is read or written, whatever the digest says.

#include "capture/body/body_store.hpp"
#include "tests/support/files.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace regtrace::capture;
using regtrace::capture::test::scratch_dir;
using regtrace::capture::test::slurp;

namespace {

std::string const good_hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

void write_file(std::filesystem::path const& path, std::string const& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Hostile "digests": traversal, absolute paths, NUL, other lengths and algorithms.
std::vector<std::string> hostile_digests() {
  return {"../secret",
          "sha256:../../secret",
          "sha256:../../etc/passwd",
          "/etc/passwd",
          "sha256:/etc/passwd",
          "../" + good_hex.substr(3),
          good_hex.substr(0, 63) + "/",
          std::string(good_hex.substr(0, 63)) + std::string("\0", 1),
          good_hex + std::string("\0/../../secret", 14),
          "sha512:" + good_hex,
          "SHA256:" + good_hex,
          "sha256:" + good_hex + "0",
          good_hex.substr(0, 60),
          std::string(64, 'G'),
          std::string(64, '.'),
          "",
          "sha256:"};
}

}  // namespace

TEST_CASE("sha256_hex_of accepts 64 lowercase hex digits, bare or after sha256:", "[capture][body]") {
  CHECK(sha256_hex_of(good_hex) == good_hex);
  CHECK(sha256_hex_of("sha256:" + good_hex) == good_hex);
  for (auto const& digest : hostile_digests()) {
    INFO(digest);
    CHECK_FALSE(sha256_hex_of(digest));
  }
}

TEST_CASE("the body store builds no path from a hostile digest", "[capture][body]") {
  auto const root = scratch_dir("store-hostile");
  auto const dir = root / "store";
  write_file(root / "secret", "outside");
  body_store store(dir);
  CHECK(store.path_for(good_hex) == dir / "sha256" / good_hex);
  CHECK(store.path_for("sha256:" + good_hex) == dir / "sha256" / good_hex);
  for (auto const& digest : hostile_digests()) {
    INFO(digest);
    CHECK_FALSE(store.path_for(digest));
    CHECK(store.size_of(digest) == -1);
    CHECK_FALSE(store.open(digest));
    auto writer = store.begin();
    REQUIRE(writer);
    writer->write("hostile");
    CHECK_FALSE(writer->finish(true, digest));
  }
  CHECK(slurp(root / "secret") == "outside");
  // Only the store's own two folders, and nothing in them: every hostile body was dropped.
  std::size_t files = 0;
  for (auto const& entry : std::filesystem::recursive_directory_iterator(root))
    files += entry.is_regular_file() ? 1 : 0;
  CHECK(files == 1);
  std::filesystem::remove_all(root);
}

TEST_CASE("the body store reads only a regular file of the digest's name", "[capture][body]") {
  auto const root = scratch_dir("store-links");
  auto const dir = root / "store";
  write_file(root / "secret", "outside");
  body_store store(dir);
  SECTION("a stored body is read back") {
    auto writer = store.begin();
    writer->write("abc");
    REQUIRE(writer->finish(true, "sha256:" + good_hex));
    CHECK(store.size_of(good_hex) == 3);
    auto file = store.open(good_hex);
    REQUIRE(file);
    char bytes[8] = {};
    CHECK(std::fread(bytes, 1, sizeof bytes, file.get()) == 3);
    CHECK(std::string(bytes) == "abc");
  }
  SECTION("a symbolic link planted under the digest's name is never followed") {
    std::filesystem::create_symlink(root / "secret", dir / "sha256" / good_hex);
    CHECK(store.size_of(good_hex) == -1);
    CHECK_FALSE(store.open(good_hex));
    // Storing the real body replaces the link itself, never what it points at.
    auto writer = store.begin();
    writer->write("abc");
    CHECK(writer->finish(true, good_hex));
    CHECK(slurp(root / "secret") == "outside");
    CHECK(store.size_of(good_hex) == 3);
  }
  SECTION("nor a folder") {
    std::filesystem::create_directory(dir / "sha256" / good_hex);
    CHECK(store.size_of(good_hex) == -1);
    CHECK_FALSE(store.open(good_hex));
  }
  SECTION("nor a FIFO, whose read would wait forever") {
    REQUIRE(::mkfifo((dir / "sha256" / good_hex).c_str(), 0600) == 0);
    CHECK(store.size_of(good_hex) == -1);
    CHECK_FALSE(store.open(good_hex));
  }
  std::filesystem::remove_all(root);
}

TEST_CASE("a store whose sha256 folder is a link is refused at start-up", "[capture][body]") {
  auto const root = scratch_dir("store-linked-folder");
  std::filesystem::create_directories(root / "elsewhere");
  std::filesystem::create_directories(root / "store");
  std::filesystem::create_directory_symlink(root / "elsewhere", root / "store" / "sha256");
  CHECK_THROWS_WITH(body_store(root / "store"), Catch::Contains("symbolic link"));
  std::filesystem::remove_all(root);
}
