#include "shell/render.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "protocol/names.hpp"

namespace dirscope::shell {

namespace {

using json = nlohmann::ordered_json;

constexpr int64_t ns_per_second = 1'000'000'000;

// Column widths of the `ls` layout: TYPE MTIME SIZE DETAILS NAME.
constexpr int type_width = 5;
constexpr int mtime_width = 19;
constexpr int size_width = 12;
constexpr int details_width = 64;

// Rounds toward negative infinity so that times before the epoch land in
// the right second.
time_t to_seconds(int64_t ns) {
  auto secs = ns / ns_per_second;
  if (ns % ns_per_second < 0)
    --secs;
  return static_cast<time_t>(secs);
}

bool to_local(int64_t ns, std::tm& out) {
  auto secs = to_seconds(ns);
  return localtime_r(&secs, &out) != nullptr;
}

std::string format_tm(const std::tm& x) {
  std::array<char, 64> buf;
  auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &x);
  return std::string(buf.data(), n);
}

std::string dump(const json& x) {
  // Names are escaped and thus valid UTF-8; messages come from peers and
  // might not be, and a listing must not throw half-way.
  return x.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

const char* short_type(protocol::entry_type x) {
  switch (x) {
    case protocol::entry_type::file:
      return "file";
    case protocol::entry_type::dir:
      return "dir";
    case protocol::entry_type::symlink:
      return "link";
    default:
      return "other";
  }
}

std::string items_text(uint64_t n) {
  return std::to_string(n) + (n == 1 ? " item" : " items");
}

std::string error_text(const protocol::entry_error& err) {
  return "[error: " + err.message + "]";
}

// "name" or "name -> target", escaped for display.
std::string display_name(const protocol::entry& x) {
  auto result = protocol::escape_name(x.name);
  if (x.target)
    result += " -> " + protocol::escape_name(*x.target);
  return result;
}

void pad_right(std::string& out, std::string_view x, size_t width) {
  out += x;
  if (x.size() < width)
    out.append(width - x.size(), ' ');
}

void pad_left(std::string& out, std::string_view x, size_t width) {
  if (x.size() < width)
    out.append(width - x.size(), ' ');
  out += x;
}

// Terminal columns taken by UTF-8 text, approximated by code points.
size_t display_width(std::string_view x) {
  size_t n = 0;
  for (auto c : x)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++n;
  return n;
}

// Width of the size column with -h ("1023K", "9.9M").
constexpr int human_size_width = 5;

// Names of at least this many columns fit a row of a narrow terminal.
constexpr size_t min_name_width = 16;

// The SHA-256 column never gets narrower than this.
constexpr size_t min_details_width = 12;

struct row_layout {
  size_t size_cols = size_width;
  size_t details_cols = details_width;
};

row_layout layout_of(const listing_style& style) {
  row_layout result;
  if (style.human)
    result.size_cols = human_size_width;
  if (style.columns == 0)
    return result;
  // Five separators of two spaces between six columns.
  size_t fixed = type_width + mtime_width + result.size_cols + 4 * 2;
  auto room = style.columns > fixed + 2 + min_name_width
                ? style.columns - fixed - 2 - min_name_width
                : 0;
  result.details_cols = std::clamp<size_t>(room, min_details_width,
                                           details_width);
  return result;
}

// Cuts `x` (ASCII: hex digits) to `width` columns, ending in "…".
std::string shorten(std::string x, size_t width) {
  if (x.size() <= width || width == 0)
    return x;
  x.resize(width - 1);
  return x + "\u2026";
}

std::string ls_row(const row_layout& layout, std::string_view type,
                   std::string_view mtime, std::string_view size,
                   std::string_view details, std::string_view name) {
  std::string result;
  pad_right(result, type, type_width);
  result += "  ";
  pad_right(result, mtime, mtime_width);
  result += "  ";
  pad_left(result, size, layout.size_cols);
  result += "  ";
  result += details;
  auto shown = display_width(details);
  if (shown < layout.details_cols)
    result.append(layout.details_cols - shown, ' ');
  result += "  ";
  result += name;
  result += '\n';
  return result;
}

const char* color_of(protocol::entry_type x) {
  switch (x) {
    case protocol::entry_type::dir:
      return "\x1b[1;34m";
    case protocol::entry_type::symlink:
      return "\x1b[1;36m";
    default:
      return nullptr;
  }
}

} // namespace

// -- time ---------------------------------------------------------------------

std::string format_local_time(int64_t ns_since_epoch) {
  std::tm tm{};
  if (!to_local(ns_since_epoch, tm))
    return std::to_string(to_seconds(ns_since_epoch));
  return format_tm(tm);
}

std::string format_rfc3339(int64_t ns_since_epoch) {
  std::tm tm{};
  if (!to_local(ns_since_epoch, tm))
    return std::to_string(to_seconds(ns_since_epoch));
  long offset = tm.tm_gmtoff;
  // RFC 3339 offsets have no seconds (old local mean times do): fall back
  // to UTC rather than print a different instant.
  if (offset % 60 != 0) {
    auto secs = to_seconds(ns_since_epoch);
    if (gmtime_r(&secs, &tm) == nullptr)
      return std::to_string(secs);
    offset = 0;
  }
  // Real offsets are within +-26 h: two digits each, no snprintf needed.
  auto minutes = static_cast<unsigned long>(offset < 0 ? -offset : offset)
                 / 60;
  auto two = [](unsigned long n) {
    return std::string{static_cast<char>('0' + n / 10 % 10),
                       static_cast<char>('0' + n % 10)};
  };
  return format_tm(tm) + (offset < 0 ? '-' : '+') + two(minutes / 60) + ":"
         + two(minutes % 60);
}

// -- entries ------------------------------------------------------------------

std::string render_listing_header(const listing_style& style) {
  auto layout = layout_of(style);
  return ls_row(layout, "TYPE", "MTIME", "SIZE", "ITEMS/SHA256", "NAME");
}

std::string render_entry_line(const protocol::entry& x,
                              const listing_style& style) {
  auto layout = layout_of(style);
  std::string details;
  if (x.items)
    details = items_text(*x.items);
  else if (x.sha256)
    details = shorten(protocol::to_hex(*x.sha256), layout.details_cols);
  if (x.error) {
    if (!details.empty())
      details += ' ';
    details += error_text(*x.error);
  }
  if (details.empty())
    details = "-";
  std::string name;
  auto color = style.color ? color_of(x.type) : nullptr;
  if (color != nullptr) {
    name = color + protocol::escape_name(x.name) + "\x1b[0m";
    if (x.target)
      name += " -> " + protocol::escape_name(*x.target);
  } else {
    name = display_name(x);
  }
  return ls_row(layout, short_type(x.type), format_local_time(x.mtime_ns),
                style.human ? human_size(x.size) : std::to_string(x.size),
                details, name);
}

std::string human_size(uint64_t n) {
  if (n < 1024)
    return std::to_string(n);
  static constexpr char units[] = {'K', 'M', 'G', 'T', 'P', 'E'};
  // Exact integer steps: value = n / 1024^(u+1), rounded up like ls -h.
  size_t u = 0;
  uint64_t scale = 1024;
  while (u + 1 < std::size(units) && n / scale >= 1024) {
    scale *= 1024;
    ++u;
  }
  char buf[32];
  // Tenths, rounded up: 1025 bytes is 1.1K, as ls -h says.
  auto tenths = (n / (scale / 1024) * 10 + 1023) / 1024;
  auto whole = n / scale;
  if (tenths < 100) {
    std::snprintf(buf, sizeof(buf), "%llu.%llu%c",
                  static_cast<unsigned long long>(tenths / 10),
                  static_cast<unsigned long long>(tenths % 10), units[u]);
  } else {
    auto up = whole + (n % scale != 0 ? 1 : 0);
    if (up >= 1024 && u + 1 < std::size(units))
      std::snprintf(buf, sizeof(buf), "1.0%c", units[u + 1]);
    else
      std::snprintf(buf, sizeof(buf), "%llu%c",
                    static_cast<unsigned long long>(up), units[u]);
  }
  return buf;
}

std::string render_entry_json(std::string_view node, std::string_view dir,
                              const protocol::entry& x) {
  json obj;
  obj["node"] = protocol::escape_name(node);
  obj["path"] = protocol::escape_name(dir);
  obj["name"] = protocol::escape_name(x.name);
  obj["type"] = protocol::to_string(x.type);
  obj["mtime"] = format_rfc3339(x.mtime_ns);
  obj["size"] = x.size;
  if (x.items)
    obj["items"] = *x.items;
  if (x.sha256)
    obj["sha256"] = protocol::to_hex(*x.sha256);
  if (x.target)
    obj["target"] = protocol::escape_name(*x.target);
  if (x.error) {
    obj["error"] = x.error->message;
    obj["error_code"] = std::string{to_string(x.error->code)};
  }
  return dump(obj);
}

std::string render_stat(std::string_view node, std::string_view path,
                        const protocol::entry& x) {
  std::string result;
  auto line = [&result](std::string_view key, std::string_view value) {
    result.append(key).append(": ").append(value).append("\n");
  };
  line("node", protocol::escape_name(node));
  line("path", protocol::escape_name(path));
  line("type", protocol::to_string(x.type));
  line("size", std::to_string(x.size));
  line("mtime", format_rfc3339(x.mtime_ns));
  if (x.items)
    line("items", std::to_string(*x.items));
  if (x.sha256)
    line("sha256", protocol::to_hex(*x.sha256));
  if (x.target)
    line("target", protocol::escape_name(*x.target));
  if (x.error)
    line("error", x.error->message + " ("
                    + std::string{to_string(x.error->code)} + ")");
  return result;
}

std::string render_tree_line(const std::vector<bool>& last,
                             const protocol::entry& x) {
  std::string result;
  for (size_t i = 0; i + 1 < last.size(); ++i)
    result += last[i] ? "    " : "\u2502   ";
  if (!last.empty())
    result += last.back() ? "\u2514\u2500\u2500 " : "\u251c\u2500\u2500 ";
  result += protocol::escape_name(x.name);
  switch (x.type) {
    case protocol::entry_type::dir:
      result += '/';
      if (x.items)
        result += " (" + items_text(*x.items) + ")";
      break;
    case protocol::entry_type::file:
      result += " (" + std::to_string(x.size)
                + (x.size == 1 ? " byte)" : " bytes)");
      break;
    case protocol::entry_type::symlink:
      if (x.target)
        result += " -> " + protocol::escape_name(*x.target);
      break;
    default:
      break;
  }
  if (x.error)
    result += " " + error_text(*x.error);
  result += '\n';
  return result;
}

// -- nodes --------------------------------------------------------------------

std::string render_nodes_json(const std::vector<node_info>& nodes) {
  std::string result;
  for (auto& x : nodes) {
    json obj;
    obj["id"] = x.id;
    obj["name"] = protocol::escape_name(x.name);
    obj["hostname"] = protocol::escape_name(x.hostname);
    obj["root"] = protocol::escape_name(x.root);
    obj["address"] = x.address;
    obj["port"] = x.port;
    obj["connected_since"] = format_rfc3339(x.connected_ns);
    if (x.last_heartbeat_ns == 0)
      obj["last_heartbeat"] = nullptr;
    else
      obj["last_heartbeat"] = format_rfc3339(x.last_heartbeat_ns);
    obj["policy"] = x.policy();
    if (!x.tls_peer.empty())
      obj["client_certificate"] = protocol::escape_name(x.tls_peer);
    result += dump(obj);
  }
  return result;
}

// -- misc ---------------------------------------------------------------------

std::string render_failure(const failure& x) {
  return "error: " + x.message + " (" + std::string{to_string(x.code)}
         + ")\n";
}

namespace {

/// "512 B", "1.5 KiB", "3.2 GiB": short, for the progress line.
std::string short_bytes(uint64_t n) {
  if (n < 1024)
    return std::to_string(n) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double x = static_cast<double>(n);
  size_t u = 0;
  x /= 1024;
  while (x >= 1024 && u + 1 < std::size(units)) {
    x /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f %s", x, units[u]);
  return buf;
}

} // namespace

std::string render_progress(uint64_t done, uint64_t total, double seconds) {
  auto result = short_bytes(done) + " / " + short_bytes(total);
  if (total > 0) {
    char pct[16];
    std::snprintf(pct, sizeof(pct), " %3.0f%%",
                  100.0 * static_cast<double>(done)
                    / static_cast<double>(total));
    result += pct;
  }
  if (seconds > 0 && done > 0) {
    auto rate = static_cast<double>(done) / seconds;
    result += "  " + short_bytes(static_cast<uint64_t>(rate)) + "/s";
    if (total >= done) {
      auto left = static_cast<uint64_t>(static_cast<double>(total - done)
                                        / rate);
      char eta[32];
      std::snprintf(eta, sizeof(eta), "  ETA %llu:%02llu",
                    static_cast<unsigned long long>(left / 60),
                    static_cast<unsigned long long>(left % 60));
      result += eta;
    }
  }
  return result;
}

std::string render_hash_progress(std::string_view name, uint64_t hashed,
                                 uint64_t size, double seconds, size_t more) {
  std::string result = "hashing ";
  result += protocol::escape_name(name);
  result += ": ";
  result += render_progress(std::min(hashed, size), size, seconds);
  if (more > 0)
    result += "  (+" + std::to_string(more) + " more)";
  return result;
}

namespace {

std::string transfer_line(const char* verb, std::string_view from,
                          std::string_view to, uint64_t bytes,
                          double seconds) {
  std::string result = verb;
  result += ' ';
  result += from;
  result += " -> ";
  result += to;
  result += " (" + std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  if (seconds >= 1 && bytes > 0)
    result += ", " + short_bytes(static_cast<uint64_t>(
                       static_cast<double>(bytes) / seconds))
              + "/s";
  result += ")\n";
  return result;
}

} // namespace

std::string render_got(std::string_view from, std::string_view to,
                       uint64_t bytes, double seconds) {
  return transfer_line("got", from, to, bytes, seconds);
}

std::string render_put(std::string_view from, std::string_view to,
                       uint64_t bytes, double seconds) {
  return transfer_line("put", from, to, bytes, seconds);
}

std::string render_listing_footer(uint64_t total, bool sorted) {
  auto result = std::to_string(total) + (total == 1 ? " entry" : " entries");
  if (!sorted)
    result += " (directory order: too large to sort)";
  result += '\n';
  return result;
}

std::string render_tree_footer(uint64_t dirs, uint64_t others) {
  auto counted = [](uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  return counted(dirs, "directory", "directories") + ", "
         + counted(others, "other entry", "other entries") + "\n";
}

std::string format_bytes(uint64_t n) {
  std::string result = std::to_string(n) + (n == 1 ? " byte" : " bytes");
  if (n < 1024)
    return result;
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB",
                                          "EiB"};
  double value = static_cast<double>(n) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), " (%.1f %s)", value, units[unit]);
  return result + buf;
}

namespace {

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

} // namespace

std::string render_du(std::string_view shown, const protocol::du_reply& x) {
  std::string result{shown};
  if (x.type == protocol::entry_type::dir)
    return result + ": " + format_bytes(x.bytes) + " in "
           + plural(x.files, "file", "files") + " and "
           + plural(x.dirs, "directory", "directories") + "\n";
  return result + ": " + protocol::to_string(x.type) + ", "
         + format_bytes(x.bytes) + "\n";
}

std::string render_remove_target(std::string_view shown,
                                 const protocol::du_reply& x, bool recursive) {
  std::string result{shown};
  switch (x.type) {
    case protocol::entry_type::file:
      return result + " is a file of " + format_bytes(x.bytes) + "\n";
    case protocol::entry_type::symlink:
      return result + " is a symlink (only the link is deleted)\n";
    case protocol::entry_type::other:
      return result + " is a special file (FIFO, socket or device)\n";
    case protocol::entry_type::dir:
      break;
  }
  result += " is a directory holding "
            + plural(x.files + x.dirs, "item", "items") + " ("
            + plural(x.files, "file", "files") + ", "
            + plural(x.dirs, "directory", "directories") + ", "
            + format_bytes(x.bytes) + ")";
  return result
         + (recursive ? "; -r deletes all of it\n"
                      : "; deleting it needs -r\n");
}

std::string render_removed(std::string_view shown, uint64_t entries) {
  return "deleted " + std::string{shown} + " ("
         + plural(entries, "entry", "entries") + ")\n";
}

std::string render_echo(std::string_view node, std::string_view text) {
  return "[" + std::string{node} + "] " + protocol::escape_name(text) + "\n";
}

} // namespace dirscope::shell
