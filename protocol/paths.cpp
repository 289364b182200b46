#include "protocol/paths.hpp"

#include <optional>

namespace dirscope::protocol {

namespace {

failure too_long(size_t size, size_t max_path) {
  return failure{wire_code::bad_request,
                 "path too long (" + std::to_string(size) + " bytes, limit "
                   + std::to_string(max_path) + ")"};
}

failure has_nul() {
  return failure{wire_code::bad_request, "path contains a NUL byte"};
}

// Applies the components of `path` to `stack` the way a shell's cd does.
void walk(std::string_view path, std::vector<std::string_view>& stack) {
  size_t first = 0;
  while (first <= path.size()) {
    auto last = path.find('/', first);
    if (last == std::string_view::npos)
      last = path.size();
    auto part = path.substr(first, last - first);
    if (part == "..") {
      if (!stack.empty())
        stack.pop_back();
    } else if (!part.empty() && part != ".") {
      stack.push_back(part);
    }
    first = last + 1;
  }
}

} // namespace

outcome<std::string> resolve_path(std::string_view cwd, std::string_view arg,
                                  size_t max_path) {
  if (cwd.find('\0') != std::string_view::npos
      || arg.find('\0') != std::string_view::npos)
    return has_nul();
  std::vector<std::string_view> stack;
  if (arg.empty() || arg.front() != '/')
    walk(cwd, stack);
  walk(arg, stack);
  if (stack.empty())
    return std::string{"/"};
  size_t size = 0;
  for (auto part : stack)
    size += 1 + part.size();
  if (size > max_path)
    return too_long(size, max_path);
  std::string result;
  result.reserve(size);
  for (auto part : stack) {
    result += '/';
    result += part;
  }
  return result;
}

outcome<std::vector<std::string>> split_node_path(std::string_view path,
                                                  size_t max_path) {
  if (path.size() > max_path)
    return too_long(path.size(), max_path);
  if (path.find('\0') != std::string_view::npos)
    return has_nul();
  if (path.empty() || path.front() != '/')
    return failure{wire_code::bad_request, "path must start with '/'"};
  std::vector<std::string> result;
  if (path.size() == 1)
    return result;
  // ".." anywhere wins over any other defect: it is an escape attempt.
  std::optional<failure> defect;
  size_t first = 1;
  while (first <= path.size()) {
    auto last = path.find('/', first);
    if (last == std::string_view::npos)
      last = path.size();
    auto part = path.substr(first, last - first);
    if (part == "..")
      return failure{wire_code::outside_root, "path leaves the node's root"};
    if (!defect) {
      if (part.empty())
        defect = failure{wire_code::bad_request,
                         "path is not normalized (empty component)"};
      else if (part == ".")
        defect = failure{wire_code::bad_request,
                         "path is not normalized ('.' component)"};
      else
        result.emplace_back(part);
    }
    first = last + 1;
  }
  if (defect)
    return std::move(*defect);
  return result;
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string result{dir};
  if (result.empty() || result.back() != '/')
    result += '/';
  result += name;
  return result;
}

std::string parent_path(std::string_view path) {
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos || pos == 0)
    return "/";
  return std::string{path.substr(0, pos)};
}

bool is_valid_entry_name(std::string_view name) noexcept {
  return !name.empty() && name != "." && name != ".."
         && name.find('/') == std::string_view::npos
         && name.find('\0') == std::string_view::npos;
}

} // namespace dirscope::protocol
