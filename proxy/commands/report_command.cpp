// `regtrace report TRACE.har…` (SPEC §2, §5 "Reports"): read any HAR, diagnose it afresh, render it.
// Several traces, or a folder of them, give one fleet report (issue 15): the traces are read one
// after another and only each one's report is kept, never all their exchanges at once.
// Exit codes: 0 read and rendered; 2 a finding at or above --fail-on (in any trace); 1 no trace could
// be read or the report could not be written (a sentence on stderr naming the file).
#include "capture/har/har_reader.hpp"
#include "capture/report/render.hpp"
#include "capture/report/render_fleet.hpp"
#include "capture/text/ascii.hpp"
#include "capture/text/display.hpp"
#include "proxy/commands/cli.hpp"
#include "proxy/commands/console.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <system_error>

namespace regtrace::proxy {
namespace {

namespace report = capture::report;
namespace fs = std::filesystem;

void write_output(fs::path const& output, std::string const& text) {
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (out) out.close();
  if (!out)
    throw std::runtime_error("cannot write the report to " + output.string() + ": " + std::strerror(errno));
}

bool to_stdout(report_options const& o) {
  return o.output.empty() || o.output == "-";
}

/// Writes the report to -o FILE or standard output.
void deliver(report_options const& o, std::string const& text) {
  if (!to_stdout(o)) return write_output(o.output, text);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

/// The warnings of a trace on stderr, unless text on the terminal shows them already (a script's log
/// should still see them), then where the report went.
void tell(report_options const& o, report::format fmt, std::vector<std::string> const& warnings,
          std::string const& verdict) {
  if (fmt != report::format::text || !to_stdout(o))
    for (auto const& w : warnings) std::cerr << "regtrace: warning: " << capture::printable(w) << "\n";
  if (!to_stdout(o)) std::cerr << "regtrace: wrote " << o.output.string() << ": " << capture::printable(verdict) << "\n";
}

/// The sentence for a trace the reader refused. Reader errors about the content start "not a HAR:
/// ..."; file errors already name the file.
std::string unreadable_sentence(fs::path const& trace, std::string const& error) {
  return error.starts_with("not a HAR")
             ? trace.string() + " is " + error + ". Export the trace again as a HAR (JSON) file."
             : error;
}

/// The files to read: files as given, a folder's *.har files sorted by name (not recursive).
std::vector<fs::path> trace_files(std::vector<fs::path> const& given) {
  std::vector<fs::path> files;
  for (auto const& path : given) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      files.push_back(path);  // a missing file is named among the unreadable traces
      continue;
    }
    std::vector<fs::path> hars;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      auto const name = it->path().filename().string();
      bool const har = name.size() > 4 && capture::iequals(std::string_view(name).substr(name.size() - 4), ".har");
      if (har && it->is_regular_file(ec)) hars.push_back(it->path());
    }
    if (ec) throw std::runtime_error("cannot list the folder " + path.string() + ": " + ec.message());
    if (hars.empty())
      throw std::runtime_error("the folder " + path.string() +
                               " holds no .har file. Give the folder the traces were collected in, or the files.");
    std::ranges::sort(hars);
    files.insert(files.end(), hars.begin(), hars.end());
  }
  return files;
}

int exit_code(std::optional<capture::rules::severity> fail_on, std::optional<capture::rules::severity> worst) {
  return fail_on && worst && *worst >= *fail_on ? 2 : 0;
}

int report_one(report_options const& o, fs::path const& trace, report::format fmt,
               std::optional<capture::rules::severity> fail_on) {
  auto read = capture::read_har_file(trace);
  if (!read.ok) {
    std::cerr << "regtrace: " << capture::printable(unreadable_sentence(trace, read.error)) << "\n";
    return 1;
  }
  auto const r = report::build_report(std::move(read), trace.string());
  deliver(o, report::render(r, fmt, fmt == report::format::text && to_stdout(o) && stdout_wants_colour()));
  tell(o, fmt, r.warnings, r.verdict);
  return exit_code(fail_on, report::worst_severity(r));
}

int report_fleet(report_options const& o, std::vector<fs::path> const& files, report::format fmt,
                 std::optional<capture::rules::severity> fail_on) {
  // Only the JSON format shows each trace's whole report; the others a summary per trace.
  report::fleet_builder builder(fmt == report::format::json);
  for (auto const& trace : files) {
    auto read = capture::read_har_file(trace);
    if (!read.ok) {
      std::cerr << "regtrace: " << capture::printable(unreadable_sentence(trace, read.error)) << "\n";
      builder.add_unreadable(trace.string(), std::move(read.error));
      continue;
    }
    builder.add(report::build_report(std::move(read), trace.string()));
  }
  auto const f = std::move(builder).finish();
  if (f.traces.empty()) {
    std::cerr << "regtrace: none of the " << files.size() << " traces could be read; no report written.\n";
    return 1;
  }
  deliver(o, report::render(f, fmt, fmt == report::format::text && to_stdout(o) && stdout_wants_colour()));
  std::vector<std::string> warnings;
  for (auto const& t : f.traces)
    for (auto const& w : t.summary.warnings) warnings.push_back(t.name + ": " + w);
  tell(o, fmt, warnings, f.verdict);
  return exit_code(fail_on, report::worst_severity(f));
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
  std::error_code ec;
  if (o.traces.size() == 1 && !fs::is_directory(o.traces.front(), ec))
    return report_one(o, o.traces.front(), *fmt, fail_on);  // one trace: its own report, as always
  return report_fleet(o, trace_files(o.traces), *fmt, fail_on);
}

}  // namespace regtrace::proxy
