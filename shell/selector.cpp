#include "shell/selector.hpp"

#include "protocol/names.hpp"

namespace dirscope::shell {

namespace {

failure bad(std::string_view text, const std::string& why) {
  return failure{wire_code::bad_request,
                 "bad node selector '" + protocol::escape_name(text)
                   + "': " + why
                   + " (write NODE, all, a glob such as web*, or {a,b})"};
}

bool has_glob(std::string_view text) {
  return text.find_first_of("*?[") != std::string_view::npos;
}

} // namespace

outcome<node_selector> parse_selector(std::string_view text) {
  node_selector result;
  if (text.empty())
    return bad(text, "empty");
  if (text == "all" || text == "*") {
    result.many = true;
    result.patterns.emplace_back("*");
    return result;
  }
  if (text.front() == '{') {
    if (text.size() < 2 || text.back() != '}')
      return bad(text, "unclosed {");
    auto inner = text.substr(1, text.size() - 2);
    if (inner.find_first_of("{}") != std::string_view::npos)
      return bad(text, "nested braces");
    result.many = true;
    size_t start = 0;
    while (true) {
      auto comma = inner.find(',', start);
      auto item = inner.substr(start, comma == std::string_view::npos
                                        ? std::string_view::npos
                                        : comma - start);
      if (item.empty())
        return bad(text, "empty name in the list");
      result.patterns.emplace_back(item);
      if (comma == std::string_view::npos)
        break;
      start = comma + 1;
    }
    return result;
  }
  if (text.find_first_of("{}") != std::string_view::npos)
    return bad(text, "braces must enclose the whole list");
  if (has_glob(text)) {
    result.many = true;
    result.patterns.emplace_back(text);
    return result;
  }
  result.name = std::string{text};
  return result;
}

bool names_many(std::string_view text) {
  auto x = parse_selector(text);
  return x && x->many;
}

} // namespace dirscope::shell
