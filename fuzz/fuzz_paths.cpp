// libFuzzer harness: path rules. Whatever a user types resolves to a
// normalized path (or a bad_request), and a normalized path is exactly what
// split_node_path accepts from the wire: its components are valid entry
// names that join back to the same path, never "..". A path with ".." is
// refused as outside_root.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/check.hpp"
#include "protocol/paths.hpp"

using namespace dirscope;
using namespace dirscope::protocol;

namespace {

constexpr size_t small_max = 64;

void check_split(std::string_view path, size_t max_path) {
  auto parts = split_node_path(path, max_path);
  if (!parts) {
    auto code = parts.error().code;
    FUZZ_CHECK(code == wire_code::bad_request
               || code == wire_code::outside_root);
    return;
  }
  FUZZ_CHECK(path.size() <= max_path);
  std::string joined = "/";
  for (auto& part : *parts) {
    FUZZ_CHECK(is_valid_entry_name(part));
    joined = join_path(joined, part);
  }
  FUZZ_CHECK(joined == path);
  if (!parts->empty()) {
    auto parent = parent_path(path);
    auto up = split_node_path(parent, max_path);
    FUZZ_CHECK(up.ok() && up->size() + 1 == parts->size());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in{reinterpret_cast<const char*>(data), size};
  // "cwd\narg" (no newline: the whole input is the argument at the root).
  auto nl = in.find('\n');
  auto cwd = nl == std::string_view::npos ? std::string_view{"/"}
                                          : in.substr(0, nl);
  auto arg = nl == std::string_view::npos ? in : in.substr(nl + 1);
  for (size_t max_path : {default_max_path, small_max}) {
    auto res = resolve_path(cwd, arg, max_path);
    if (res) {
      FUZZ_CHECK(res->size() <= max_path || *res == "/");
      auto parts = split_node_path(*res, max_path);
      FUZZ_CHECK(parts.ok());
      // Resolving a normalized path from anywhere changes nothing.
      auto again = resolve_path("/elsewhere/x", *res, max_path);
      FUZZ_CHECK(again.ok() && *again == *res);
    } else {
      FUZZ_CHECK(res.error().code == wire_code::bad_request);
    }
    check_split(in, max_path);
    check_split(arg, max_path);
  }
  return 0;
}
