// The progress line of long hashes (hash_progress from nodes) while `ls`
// or `stat` waits for them: on a terminal only, never in pipes or --json.

#include "actors/server/console_commands.hpp"

#include <algorithm>

#include "shell/render.hpp"

namespace dirscope::console_impl {

void watch_hashes(self_ptr self, uint64_t query) {
  auto& st = self->state;
  // Only when the rows go to the same terminal (options.columns is set for
  // a terminal stdout only): `ls > file` shows no progress.
  if (st.options.progress && st.options.columns)
    st.hash_queries.push_back(query);
}

void hide_hash_line(self_ptr self) {
  auto& st = self->state;
  if (st.hash_line_shown && st.options.progress)
    st.options.progress("");
  st.hash_line_shown = false;
}

void show_hash_line(self_ptr self) {
  auto& st = self->state;
  if (!st.options.progress || st.hashes.empty())
    return;
  // The file furthest along: the one most likely to finish next.
  auto best = st.hashes.begin();
  for (auto i = st.hashes.begin(); i != st.hashes.end(); ++i)
    if (i->second.hashed > best->second.hashed)
      best = i;
  auto seconds = std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - best->second.since)
                   .count();
  auto& name = best->first.second;
  st.options.progress(shell::render_hash_progress(
    name.empty() ? std::string{"file"} : name, best->second.hashed,
    best->second.size, seconds, st.hashes.size() - 1));
  st.hash_line_shown = true;
}

void on_hash_progress(self_ptr self, uint64_t query, std::string name,
                      uint64_t size, uint64_t hashed) {
  auto& st = self->state;
  auto& qs = st.hash_queries;
  if (std::find(qs.begin(), qs.end(), query) == qs.end())
    return;
  auto key = std::make_pair(query, std::move(name));
  auto i = st.hashes.find(key);
  if (i == st.hashes.end())
    i = st.hashes
          .emplace(std::move(key),
                   console_state::hash_status{size, hashed,
                                              std::chrono::steady_clock::now()})
          .first;
  i->second.size = size;
  i->second.hashed = hashed;
  show_hash_line(self);
}

void hashes_arrived(self_ptr self, uint64_t query,
                    const std::vector<protocol::entry>& xs) {
  auto& st = self->state;
  if (st.hashes.empty())
    return;
  for (auto& x : xs)
    st.hashes.erase(std::make_pair(query, x.name));
}

void stop_watching_hashes(self_ptr self) {
  auto& st = self->state;
  hide_hash_line(self);
  st.hash_queries.clear();
  st.hashes.clear();
}

} // namespace dirscope::console_impl
