#include "shell/find_options.hpp"

#include <cctype>
#include <ctime>
#include <limits>
#include <string>

#include "protocol/names.hpp"

namespace dirscope::shell {

namespace {

constexpr int64_t ns_per_s = 1'000'000'000;

failure bad(std::string what) {
  return make_failure(wire_code::bad_request, std::move(what));
}

/// Digits into a uint64_t, refusing overflow and anything else.
bool parse_digits(std::string_view text, uint64_t& out) {
  if (text.empty())
    return false;
  uint64_t n = 0;
  for (auto c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
    if (n > (std::numeric_limits<uint64_t>::max() - 9) / 10)
      return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  out = n;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

outcome<std::string> unescaped_glob(std::string_view option,
                                    const std::string& text) {
  auto raw = protocol::unescape_name(text);
  if (!raw)
    return bad("bad escape in " + std::string{option} + " '" + text
               + "' (use \\\\ for a backslash, \\xNN for a byte)");
  if (raw->empty())
    return bad(std::string{option} + " needs a pattern");
  return std::move(*raw);
}

} // namespace

outcome<protocol::find_request> parse_size_filter(std::string_view text,
                                                  protocol::find_request req) {
  auto what = "--size '" + std::string{text} + "'";
  char sign = 0;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    sign = text[0];
    text.remove_prefix(1);
  }
  uint64_t unit = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K':
        unit = 1ull << 10;
        break;
      case 'M':
        unit = 1ull << 20;
        break;
      case 'G':
        unit = 1ull << 30;
        break;
      default:
        break;
    }
    if (unit != 1)
      text.remove_suffix(1);
  }
  uint64_t n = 0;
  if (!parse_digits(text, n) || n > std::numeric_limits<uint64_t>::max() / unit)
    return bad(what + ": expected [+|-]N with an optional k, M or G suffix");
  n *= unit;
  if (sign == '+') {
    if (n == std::numeric_limits<uint64_t>::max())
      return bad(what + " matches nothing");
    req.min_size = n + 1;
  } else if (sign == '-') {
    if (n == 0)
      return bad(what + " matches nothing (sizes are never negative)");
    req.max_size = n - 1;
  } else {
    req.min_size = n;
    req.max_size = n;
  }
  return req;
}

outcome<int64_t> parse_time_point(std::string_view text) {
  auto what = "time '" + std::string{text} + "'";
  if (!text.empty() && text[0] == '@') {
    uint64_t s = 0;
    if (!parse_digits(text.substr(1), s)
        || s > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()
                                     / ns_per_s))
      return bad(what + ": expected @SECONDS");
    return static_cast<int64_t>(s) * ns_per_s;
  }
  std::string s{text};
  bool utc = !s.empty() && (s.back() == 'Z' || s.back() == 'z');
  if (utc)
    s.pop_back();
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  char tail = 0;
  int n = std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &year, &mon, &day,
                      &tail, &hour, &min, &sec);
  bool shape_ok = (n == 3 && s.size() == 10)
                  || ((n == 6 || n == 7) && (tail == 'T' || tail == ' '));
  if (!shape_ok || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23
      || min > 59 || sec > 60)
    return bad(what + ": expected YYYY-MM-DD[THH:MM[:SS]][Z] or @SECONDS");
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  auto t = utc ? ::timegm(&tm) : ::mktime(&tm);
  if (t == static_cast<time_t>(-1))
    return bad(what + " is out of range");
  return static_cast<int64_t>(t) * ns_per_s;
}

outcome<protocol::find_request> parse_find_options(const command& cmd,
                                                   int64_t now_ns) {
  protocol::find_request req;
  if (cmd.has_flag("hash"))
    req.flags |= protocol::find_flags::with_hashes;
  if (auto x = cmd.option("name")) {
    auto glob = unescaped_glob("--name", *x);
    if (!glob)
      return glob.error();
    req.name_glob = std::move(*glob);
  }
  if (auto x = cmd.option("path")) {
    auto glob = unescaped_glob("--path", *x);
    if (!glob)
      return glob.error();
    req.path_glob = std::move(*glob);
  }
  if (auto x = cmd.option("type")) {
    for (size_t i = 0; i < x->size(); ++i) {
      auto c = (*x)[i];
      if (c == ',' && i > 0)
        continue;
      switch (c) {
        case 'f':
          req.types |= protocol::find_types::file;
          break;
        case 'd':
          req.types |= protocol::find_types::dir;
          break;
        case 'l':
          req.types |= protocol::find_types::symlink;
          break;
        case 'o':
          req.types |= protocol::find_types::other;
          break;
        default:
          return bad("--type '" + protocol::escape_name(*x)
                     + "': expected f, d, l or o (comma-separated)");
      }
    }
    if (req.types == 0)
      return bad("--type needs a type: f, d, l or o");
  }
  if (auto x = cmd.option("size")) {
    auto r = parse_size_filter(*x, req);
    if (!r)
      return r.error();
    req = std::move(*r);
  }
  auto newer = cmd.option("newer");
  auto mtime = cmd.option("mtime");
  if (newer && mtime)
    return bad("give --newer or --mtime, not both");
  if (newer) {
    auto t = parse_time_point(*newer);
    if (!t)
      return t.error();
    if (*t == std::numeric_limits<int64_t>::max())
      return bad("--newer: nothing is newer than that");
    req.min_mtime_ns = *t + 1;
  }
  if (mtime) {
    std::string_view text = *mtime;
    auto what = "--mtime '" + *mtime + "'";
    char sign = 0;
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
      sign = text[0];
      text.remove_prefix(1);
    }
    int64_t unit = 86400;
    if (!text.empty() && !std::isdigit(static_cast<unsigned char>(text.back()))) {
      switch (text.back()) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        case 'w':
          unit = 7 * 86400;
          break;
        default:
          return bad(what + ": expected [+|-]N with s, m, h, d or w");
      }
      text.remove_suffix(1);
    }
    uint64_t n = 0;
    // 100 years is plenty and keeps the arithmetic in range.
    if (!parse_digits(text, n) || n * static_cast<uint64_t>(unit) > 3'155'760'000ull)
      return bad(what + ": expected [+|-]N with s, m, h, d or w (at most "
                        "100 years)");
    auto span = static_cast<int64_t>(n) * unit * ns_per_s;
    auto step = unit * ns_per_s;
    if (sign == '-') {
      req.min_mtime_ns = now_ns - span;
    } else if (sign == '+') {
      req.max_mtime_ns = now_ns - span;
    } else {
      // As find -mtime N: between N and N+1 units ago.
      req.min_mtime_ns = now_ns - span - step;
      req.max_mtime_ns = now_ns - span;
    }
  }
  if (auto x = cmd.option("sha256")) {
    if (x->size() != 64)
      return bad("--sha256 expects 64 hex digits");
    protocol::sha256_digest d{};
    for (size_t i = 0; i < 32; ++i) {
      auto hi = hex_value((*x)[2 * i]);
      auto lo = hex_value((*x)[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return bad("--sha256 expects 64 hex digits");
      d[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    req.sha256 = d;
  }
  if (auto x = cmd.option("max-depth")) {
    auto n = parse_count("--max-depth", *x);
    if (!n)
      return n.error();
    if (*n > UINT32_MAX)
      return bad("--max-depth is too large");
    req.max_depth = static_cast<uint32_t>(*n);
  }
  return req;
}

} // namespace dirscope::shell
