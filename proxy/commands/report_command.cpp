// `regtrace report TRACE.har` (SPEC §2, §5 "Reports"): read any HAR, diagnose it afresh, render it.
// Exit codes: 0 read and rendered; 2 a finding at or above --fail-on; 1 the trace could not be read
// or the report could not be written (a sentence on stderr naming the file).
#include "capture/text/display.hpp"
#include "capture/har/har_reader.hpp"
#include "capture/report/render.hpp"
#include "proxy/commands/cli.hpp"
#include "proxy/commands/console.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

namespace regtrace::proxy {
namespace {

namespace report = capture::report;

void write_output(std::filesystem::path const& output, std::string const& text) {
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (out) out.close();
  if (!out)
    throw std::runtime_error("cannot write the report to " + output.string() + ": " + std::strerror(errno));
}

}  // namespace

int run_report_command(report_options const& o) {
  auto const fmt = report::format_from_string(o.format);
  if (!fmt) throw std::runtime_error("--format " + o.format + " is not one of text, markdown, json, html");
  std::optional<capture::rules::severity> fail_on;
  if (!o.fail_on.empty()) {
    fail_on = capture::rules::severity_from_string(o.fail_on);
    if (!fail_on) throw std::runtime_error("--fail-on " + o.fail_on + " is not one of error, critical");
  }

  auto read = capture::read_har_file(o.trace);
  if (!read.ok) {
    // Reader errors about the content start "not a HAR: ..."; file errors already name the file.
    std::string const sentence =
        read.error.starts_with("not a HAR")
            ? o.trace.string() + " is " + read.error + ". Export the trace again as a HAR (JSON) file."
            : read.error;
    std::cerr << "regtrace: " << capture::printable(sentence) << "\n";
    return 1;
  }
  auto const r = report::build_report(std::move(read), o.trace.string());
  bool const to_stdout = o.output.empty() || o.output == "-";
  std::string const text =
      report::render(r, *fmt, *fmt == report::format::text && to_stdout && stdout_wants_colour());
  if (to_stdout) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  } else {
    write_output(o.output, text);
  }
  // Text on the terminal already shows the warnings; elsewhere a script's log should still see them.
  if (*fmt != report::format::text || !to_stdout)
    for (auto const& w : r.warnings) std::cerr << "regtrace: warning: " << capture::printable(w) << "\n";
  if (!to_stdout)
    std::cerr << "regtrace: wrote " << o.output.string() << ": " << capture::printable(r.verdict) << "\n";

  auto const worst = report::worst_severity(r);
  return fail_on && worst && *worst >= *fail_on ? 2 : 0;
}

}  // namespace regtrace::proxy
