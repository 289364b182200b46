#include "shell/nodes_view.hpp"

#include <algorithm>
#include <cctype>

#include <fnmatch.h>
#include <nlohmann/json.hpp>

#include "protocol/names.hpp"
#include "shell/render.hpp"

namespace dirscope::shell {

namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool contains_folded(const std::string& haystack, const std::string& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(),
                     needle.end(),
                     [](char a, char b) { return lower(a) == lower(b); })
         != haystack.end();
}

// Terminal columns taken by UTF-8 text, approximated by code points.
size_t display_width(const std::string& x) {
  return static_cast<size_t>(std::count_if(x.begin(), x.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

} // namespace

bool node_matches(const node_query& q, const node_info& x) {
  if (!q.patterns.empty()) {
    auto name = protocol::escape_name(x.name);
    auto glob = [&name](const std::string& p) {
      // Escaped names carry backslashes (\xff): match them literally.
      return ::fnmatch(p.c_str(), name.c_str(), FNM_NOESCAPE) == 0;
    };
    if (std::none_of(q.patterns.begin(), q.patterns.end(), glob))
      return false;
  }
  if (q.match.empty())
    return true;
  for (auto* field : {&x.name, &x.hostname, &x.root, &x.tls_peer})
    if (contains_folded(protocol::escape_name(*field), q.match))
      return true;
  return contains_folded(x.endpoint(), q.match)
         || contains_folded(x.policy(), q.match);
}

bool node_up(const node_info& x, int64_t now_ns, int64_t interval_ns) {
  auto last = std::max(x.last_heartbeat_ns, x.connected_ns);
  return now_ns - last <= 2 * interval_ns;
}

std::string nodes_table::rows(const std::vector<node_info>& xs) {
  using row = std::array<std::string, 7>;
  std::vector<row> rows;
  if (!header_done_)
    rows.push_back(row{"ID", "NAME", "ADDRESS", "ROOT", "CONNECTED",
                       "LAST-HEARTBEAT", "POLICY"});
  for (auto& x : xs)
    rows.push_back(row{std::to_string(x.id), protocol::escape_name(x.name),
                       x.endpoint(), protocol::escape_name(x.root),
                       format_local_time(x.connected_ns),
                       x.last_heartbeat_ns == 0
                         ? std::string{"-"}
                         : format_local_time(x.last_heartbeat_ns),
                       x.policy()});
  if (xs.empty())
    return {};
  header_done_ = true;
  for (auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i)
      widths_[i] = std::max(widths_[i], display_width(r[i]));
  std::string result;
  for (auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      result += r[i];
      if (i + 1 < r.size())
        result.append(widths_[i] - display_width(r[i]) + 2, ' ');
    }
    result += '\n';
  }
  return result;
}

std::string render_nodes_summary(const node_counts& c, bool filtered) {
  if (!filtered && c.total == 0)
    return c.joining > 0 ? "no nodes connected (" + std::to_string(c.joining)
                             + " joining)\n"
                         : "no nodes connected\n";
  std::string result;
  if (filtered)
    result = std::to_string(c.matching) + " of "
             + plural(c.total, "node", "nodes") + " match";
  else
    result = plural(c.total, "node", "nodes");
  result += ": " + std::to_string(c.up) + " up, " + std::to_string(c.late)
            + " late";
  if (c.joining > 0)
    result += ", " + std::to_string(c.joining) + " joining";
  return result + "\n";
}

std::string render_nodes_counts_json(const node_counts& c) {
  nlohmann::ordered_json obj;
  obj["matching"] = c.matching;
  obj["total"] = c.total;
  obj["up"] = c.up;
  obj["late"] = c.late;
  obj["joining"] = c.joining;
  return obj.dump() + "\n";
}

std::string render_nodes(const std::vector<node_info>& nodes) {
  if (nodes.empty())
    return "no nodes connected\n";
  return nodes_table{}.rows(nodes);
}

} // namespace dirscope::shell
