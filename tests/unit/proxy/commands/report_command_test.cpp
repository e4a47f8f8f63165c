// `regtrace report` through the command line: exit codes, -o, and refusals as sentences.

#include "proxy/commands/cli.hpp"
#include "tests/support/files.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using regtrace::capture::test::slurp;

int run(std::vector<std::string> args) {
  args.insert(args.begin(), "regtrace");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return regtrace::proxy::run_command_line(static_cast<int>(argv.size()), argv.data());
}

struct scratch {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("regtrace-report-cmd-" + std::to_string(::getpid()));
  scratch() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  std::filesystem::path write(std::string const& name, std::string const& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return dir / name;
  }
};

// A healthy ping: no rule finds anything in it, whichever rules exist.
constexpr char const* healthy_har =
    R"({"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[
  {"startedDateTime":"2024-01-02T03:04:05.006Z","request":{"method":"GET","url":"https://r.example/v2/"},
   "response":{"status":200,"headers":[{"name":"Docker-Distribution-Api-Version","value":"registry/2.0"}]},
   "timings":{"send":1,"wait":2,"receive":3}}]}})";

}  // namespace

TEST_CASE("report writes every format to -o and exits 0", "[proxy][report]") {
  scratch s;
  auto const har = s.write("ok.har", healthy_har);
  for (std::string const format : {"text", "markdown", "json", "html"}) {
    auto const out = s.dir / ("out." + format);
    CHECK(run({"report", har.string(), "--format", format, "-o", out.string()}) == 0);
    CHECK(std::filesystem::file_size(out) > 0);
  }
  auto const json = nlohmann::json::parse(slurp(s.dir / "out.json"));
  CHECK(json["schema"] == "regtrace.report/1");
  CHECK(json["entries"].size() == 1);
  CHECK(slurp(s.dir / "out.text").find("No problems found in 1 exchange") != std::string::npos);
  CHECK(run({"report", har.string(), "--fail-on", "error", "-o", (s.dir / "f.txt").string()}) == 0);
  CHECK(run({"report", har.string(), "--fail-on", "critical", "-o", (s.dir / "f.txt").string()}) == 0);
}

TEST_CASE("report exits 1 for unreadable files and usage errors", "[proxy][report]") {
  scratch s;
  auto const har = s.write("ok.har", healthy_har);
  auto const out = (s.dir / "out.txt").string();
  CHECK(run({"report", (s.dir / "missing.har").string(), "-o", out}) == 1);
  CHECK(run({"report", s.write("page.html", "<html></html>").string(), "-o", out}) == 1);
  CHECK(run({"report", s.write("empty.har", "").string(), "-o", out}) == 1);
  CHECK(run({"report", har.string(), "--format", "pdf", "-o", out}) == 1);
  CHECK(run({"report", har.string(), "--fail-on", "warning", "-o", out}) == 1);
  CHECK(run({"report"}) == 1);
  CHECK(run({"report", har.string(), "-o", (s.dir / "no-such-dir" / "r.txt").string()}) == 1);
}

TEST_CASE("report on a truncated HAR reports its complete entries and exits 0", "[proxy][report]") {
  scratch s;
  std::string text = healthy_har;
  text = text.substr(0, text.size() - 3) +
         ",\n  {\"startedDateTime\":\"2024-01-02T03:04:06Z\",\"request\":{\"meth";
  auto const har = s.write("cut.har", text);
  auto const out = s.dir / "cut.json";
  CHECK(run({"report", har.string(), "--format", "json", "-o", out.string()}) == 0);
  auto const json = nlohmann::json::parse(slurp(out));
  CHECK(json["source"]["truncated"] == true);
  CHECK(json["entries"].size() == 1);
  REQUIRE(json["warnings"].size() == 1);
  CHECK(json["warnings"][0].get<std::string>().starts_with("the file ends at byte "));
}

namespace {

/// What run() writes to stderr (the refusal sentences and warnings).
struct stderr_capture {
  std::ostringstream text;
  std::streambuf* saved = std::cerr.rdbuf(text.rdbuf());
  ~stderr_capture() { std::cerr.rdbuf(saved); }
};

std::string har_with(std::vector<std::string> const& entries) {
  std::string text = R"({"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[)";
  for (std::size_t i = 0; i < entries.size(); ++i) text += (i ? ",\n" : "\n") + entries[i];
  return text + "]}}";
}

std::string entry_for(std::string const& url, std::string const& extra = {}) {
  return R"({"startedDateTime":"2024-01-02T03:04:05.006Z","request":{"method":"GET","url":")" + url +
         R"("},"response":{"status":200)" + extra + "}}";
}

}  // namespace

TEST_CASE("report on a hostile trace: deep nesting is refused with a sentence naming the byte",
          "[proxy][report]") {
  scratch s;
  // The root object is level 1: the 64th bracket (at offset 70) is level 65.
  auto const har =
      s.write("deep.har", R"({"log":)" + std::string(100000, '[') + std::string(100000, ']') + "}");
  stderr_capture err;
  CHECK(run({"report", har.string(), "-o", (s.dir / "r.txt").string()}) == 1);
  CHECK(err.text.str() ==
        "regtrace: " + har.string() +
            " is not a HAR: it nests deeper than 64 levels at byte 71 (line 1, column 71), which "
            "no HAR does. Export the trace again as a HAR (JSON) file.\n");
}

TEST_CASE("report on a hostile trace: the entries that can be read are, and the others named",
          "[proxy][report]") {
  scratch s;
  std::string const deep = std::string(100000, '[') + std::string(100000, ']');
  auto const har =
      s.write("hostile.har", har_with({entry_for("https://r.example/v2/" + std::string(4 * 1024 * 1024, 'a')),
                                       entry_for("https://r.example/v2/deep", R"(,"x":)" + deep),
                                       entry_for("https://r.example/v2/odd", R"(,"statusText":"caf)"
                                                                             "\xFF"
                                                                             R"(")"),
                                       entry_for("https://r.example/v2/")}));
  auto const out = s.dir / "r.json";
  stderr_capture err;
  CHECK(run({"report", har.string(), "--format", "json", "-o", out.string()}) == 0);
  auto const json = nlohmann::json::parse(slurp(out));
  CHECK(json["entries"].size() == 3);
  auto const warnings = json["warnings"].dump();
  CHECK(warnings.find("entry 2 (from byte ") != std::string::npos);
  CHECK(warnings.find("nests deeper than 64 levels at byte ") != std::string::npos);
  CHECK(warnings.find("entry 3 holds bytes that are not UTF-8") != std::string::npos);
  CHECK(err.text.str().find("regtrace: warning: entry 2 (from byte ") != std::string::npos);
}

TEST_CASE("report's HTML escapes markup from the trace", "[proxy][report]") {
  scratch s;
  auto const har = s.write(
      "markup.har",
      har_with({entry_for("https://r.example/v2/<script>alert(1)</script>?q=<img src=x onerror=alert(2)>",
                          R"(,"statusText":"<script>alert(3)</script>")")}));
  auto const out = s.dir / "r.html";
  stderr_capture err;
  CHECK(run({"report", har.string(), "--format", "html", "-o", out.string()}) == 0);
  auto const html = slurp(out);
  CHECK(html.find("alert(1)") != std::string::npos);       // the URL is shown...
  CHECK(html.find("<script>alert") == std::string::npos);  // ...but never as markup
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
}
