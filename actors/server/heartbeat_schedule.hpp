#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include <caf/actor_clock.hpp>

#include "actors/actors.hpp"

namespace dirscope {

/// One coarse timer for every node's heartbeat instead of one timer per
/// node per heartbeat: time is cut into rounds of interval / slots; a node
/// sits in one of `slots` buckets, chosen by the round of its first
/// heartbeat, and round r ticks bucket r % slots, so every node hears from
/// its connection once per interval (the first time up to one round early).
class heartbeat_schedule {
public:
  using time_point = caf::actor_clock::time_point;

  explicit heartbeat_schedule(caf::timespan interval, uint32_t slots = 10);

  /// Adds node `id`, joined at `now`.
  void add(uint64_t id, node_connection_actor conn, time_point now);

  /// Removes node `id`, if present.
  void remove(uint64_t id);

  /// The connections due at round time `now` (every round up to `now` not
  /// yet run), in calls to `tick`; returns when the next round is due, or
  /// none when no node is left.
  template <class F>
  std::optional<time_point> run(time_point now, F tick) {
    while (next_round_ * round_ <= now.time_since_epoch()) {
      // A round run late (the timer waits for the next non-empty bucket)
      // skips nodes that joined after its time.
      for (auto& [id, x] : buckets_[next_round_ % buckets_.size()])
        if (next_round_ >= x.first)
          tick(x.conn);
      ++next_round_;
    }
    return next_due();
  }

  /// When the next round is due (none when no node is left).
  std::optional<time_point> next_due() const;

  bool empty() const {
    return size_ == 0;
  }

private:
  caf::timespan interval_;
  caf::timespan round_;
  struct entry {
    node_connection_actor conn;
    /// The round of the node's first heartbeat.
    int64_t first;
  };

  std::vector<std::map<uint64_t, entry>> buckets_;
  /// Node id -> its bucket.
  std::map<uint64_t, size_t> where_;
  size_t size_ = 0;
  /// The next round to run (rounds count from the clock's epoch).
  int64_t next_round_ = 0;
};

} // namespace dirscope
