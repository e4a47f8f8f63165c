// The HTML report's operations: one card per client operation, its outcome first, then what it moved
// and the requests it made, each linked to its row in the request table. Markup only (no script):
// the request list folds with <details>, open when it is short.
#include "capture/report/render_detail.hpp"
#include "capture/text/display.hpp"

namespace regtrace::capture::report::detail {
namespace {

// Short lists are shown; a pull of fifty layers folds its requests away until asked for.
constexpr std::size_t open_steps = 12;

std::string entry_link(std::size_t index) {
  return "<a href=\"#entry-" + std::to_string(index + 1) + "\">" + entry_label(index) + "</a>";
}

std::string outcome_badge(operation_outcome o) {
  std::string const name(to_string(o));
  std::string label = name;
  for (auto& c : label) c = static_cast<char>(c - 'a' + 'A');
  return "<span class=\"badge o-" + name + "\">" + label + "</span>";
}

std::string steps_table(report const& r, operation const& op) {
  std::string out = std::string("<details") + (op.steps.size() <= open_steps ? " open" : "") + "><summary>" +
                    html_escape(operation_requests(op)) + "</summary><table class=\"steps\"><tbody>";
  for (auto const& step : op.steps) {
    auto const& row = r.entries[step.exchange];
    bool const bad = op.first_failure == step.exchange;  // a challenge's 401 or a push's 404 is no failure
    out += "<tr><td class=\"num\">" + entry_link(row.index) + "</td><td>" + html_escape(step.role) +
           "</td><td>" + html_escape(row.method) + "</td><td class=\"mono path\">" +
           html_escape((row.host == op.registry ? "" : row.host) + row.path) + "</td><td" +
           (bad ? " class=\"st-bad\"" : "") + ">" + html_escape(status_text(row)) +
           "</td><td class=\"num\">" + format_bytes(row.request_bytes + row.response_bytes) + "</td></tr>";
  }
  return out + "</tbody></table></details>";
}

std::string operation_card(report const& r, operation const& op, std::size_t number) {
  auto const outcome = std::string(to_string(op.outcome));
  std::string out = "<article class=\"operation op-" + outcome + "\" id=\"operation-" +
                    std::to_string(number) + "\"><h3>" + outcome_badge(op.outcome) + html_escape(op.title) +
                    "</h3><p class=\"facts\">";
  std::string facts = op.client.empty() ? "unknown client" : op.client;
  facts += " · " + format_duration_ms(op.duration_ms);
  if (auto const amounts = operation_amounts(op); !amounts.empty()) facts += " · " + amounts;
  if (!op.finding_ids.empty()) facts += " · findings " + join(op.finding_ids);
  out += html_escape(facts) + "</p>";
  if (op.first_failure && *op.first_failure < r.entries.size()) {
    auto const& row = r.entries[*op.first_failure];
    out += "<p class=\"stopped\">" +
           std::string(op.outcome == operation_outcome::failed ? "Failed at " : "Stopped at ") +
           entry_link(row.index) + " <code>" + html_escape(failing_request_text(row, op.registry)) +
           "</code></p>";
  } else if (!op.note.empty()) {
    out += "<p class=\"stopped\">" + html_escape(op.note) + "</p>";
  }
  return out + steps_table(r, op) + "</article>\n";
}

}  // namespace

std::string html_operations(report const& r) {
  std::string out = "<section id=\"operations\"><h2>Operations</h2>\n";
  for (std::size_t i = 0; i < r.operations.size(); ++i) out += operation_card(r, r.operations[i], i + 1);
  return out + "</section>\n";
}

}  // namespace regtrace::capture::report::detail
