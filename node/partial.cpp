#include "node/partial.hpp"

#include <cerrno>
#include <climits>
#include <type_traits>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>


#include "node/confine.hpp"
#include "node/sha256.hpp"
#include "protocol/names.hpp"

namespace dirscope::node {

std::string partial_name(std::string_view name,
                         const source_identity& source) {
  auto result = std::string{partial_prefix} + std::to_string(source.size)
                + "-" + std::to_string(source.mtime_ns) + "-";
  if (result.size() + name.size() <= NAME_MAX)
    return result.append(name);
  return result + protocol::to_hex(sha256_bytes(name));
}

std::optional<source_identity> partial_source(std::string_view entry,
                                              std::string_view name) {
  if (entry.substr(0, partial_prefix.size()) != partial_prefix)
    return std::nullopt;
  entry.remove_prefix(partial_prefix.size());
  // SIZE-MTIME_NS-: digits, a dash, an optional minus and digits, a dash.
  auto number = [&entry](bool sign, auto& out) {
    bool negative = sign && !entry.empty() && entry[0] == '-';
    size_t i = negative ? 1 : 0;
    auto start = i;
    uint64_t value = 0;
    while (i < entry.size() && entry[i] >= '0' && entry[i] <= '9'
           && i - start < 19)
      value = value * 10 + static_cast<uint64_t>(entry[i++] - '0');
    if (i == start || i >= entry.size() || entry[i] != '-')
      return false;
    entry.remove_prefix(i + 1);
    using T = std::decay_t<decltype(out)>;
    out = negative ? -static_cast<T>(value) : static_cast<T>(value);
    return true;
  };
  source_identity result;
  if (!number(false, result.size) || !number(true, result.mtime_ns))
    return std::nullopt;
  if (entry != name && entry != protocol::to_hex(sha256_bytes(name)))
    return std::nullopt;
  return result;
}

std::optional<std::string> find_partial(int dir_fd, std::string_view name) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  auto dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return std::nullopt;
  }
  std::optional<std::string> result;
  while (auto e = ::readdir(dir))
    if (is_partial_of(e->d_name, name)) {
      result = e->d_name;
      break;
    }
  ::closedir(dir);
  return result;
}

size_t remove_stale_partials(int dir_fd, std::string_view name,
                             std::string_view keep) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  auto dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return 0;
  }
  std::vector<std::string> stale;
  while (auto e = ::readdir(dir)) {
    std::string_view entry{e->d_name};
    if (entry != keep && is_partial_of(entry, name))
      stale.emplace_back(entry);
  }
  ::closedir(dir);
  size_t n = 0;
  for (auto& x : stale)
    if (::unlinkat(dir_fd, x.c_str(), 0) == 0)
      ++n;
  return n;
}

void created_dirs::add(int parent_fd, std::string name) {
  bool cwd = parent_fd < 0;
  unique_fd fd{cwd ? -1 : ::fcntl(parent_fd, F_DUPFD_CLOEXEC, 0)};
  if (!cwd && !fd)
    return; // cannot undo it: leaving a directory beats removing a wrong one
  dirs_.emplace_back(std::move(fd), std::move(name));
  at_cwd_.push_back(cwd);
}

void created_dirs::rollback() noexcept {
  for (size_t i = dirs_.size(); i-- > 0;) {
    auto parent = at_cwd_[i] ? AT_FDCWD : dirs_[i].first.get();
    // Fails with ENOTEMPTY where something (a kept partial) is inside.
    if (::unlinkat(parent, dirs_[i].second.c_str(), AT_REMOVEDIR) != 0)
      break;
  }
  dirs_.clear();
  at_cwd_.clear();
}

} // namespace dirscope::node
