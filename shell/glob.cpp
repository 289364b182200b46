#include "shell/glob.hpp"

#include <fnmatch.h>
#include <locale.h>

namespace dirscope::shell {

bool has_glob(std::string_view path) {
  return path.find_first_of("*?[") != std::string_view::npos;
}

glob_split split_glob(std::string_view path) {
  glob_split result;
  result.base = "/";
  size_t at = 0;
  while (at < path.size()) {
    auto next = path.find('/', at);
    auto end = next == std::string_view::npos ? path.size() : next;
    auto part = path.substr(at, end - at);
    at = end + 1;
    if (part.empty())
      continue;
    if (result.depth == 0 && !has_glob(part)) {
      if (result.base.back() != '/')
        result.base += '/';
      result.base += part;
      continue;
    }
    if (result.depth > 0)
      result.pattern += '/';
    result.pattern += part;
    result.last = std::string{part};
    ++result.depth;
  }
  return result;
}

bool glob_matches(const std::string& pattern, const std::string& rel) {
  // Names are bytes: under a UTF-8 locale (the interactive shell sets one
  // for libedit) fnmatch would fail on names that are not UTF-8.
  static const locale_t bytes = ::newlocale(LC_ALL_MASK, "C", locale_t{});
  auto old = ::uselocale(bytes);
  auto rc = ::fnmatch(pattern.c_str(), rel.c_str(), FNM_PATHNAME | FNM_PERIOD);
  ::uselocale(old);
  return rc == 0;
}

} // namespace dirscope::shell
