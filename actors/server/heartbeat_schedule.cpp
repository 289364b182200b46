#include "actors/server/heartbeat_schedule.hpp"

namespace dirscope {

heartbeat_schedule::heartbeat_schedule(caf::timespan interval,
                                       uint32_t slots)
  : interval_(interval),
    round_(interval / (slots == 0 ? 1 : slots)),
    buckets_(slots == 0 ? 1 : slots) {
  if (round_ <= caf::timespan::zero())
    round_ = caf::timespan{1};
}

void heartbeat_schedule::add(uint64_t id, node_connection_actor conn,
                             time_point now) {
  remove(id);
  // The round of the first heartbeat: never later than one interval.
  auto first = (now.time_since_epoch() + interval_) / round_;
  if (size_ == 0)
    next_round_ = now.time_since_epoch() / round_ + 1;
  auto bucket = static_cast<size_t>(first % buckets_.size());
  buckets_[bucket].emplace(id, entry{std::move(conn), first});
  where_.emplace(id, bucket);
  ++size_;
}

void heartbeat_schedule::remove(uint64_t id) {
  auto i = where_.find(id);
  if (i == where_.end())
    return;
  buckets_[i->second].erase(id);
  where_.erase(i);
  --size_;
}

std::optional<heartbeat_schedule::time_point>
heartbeat_schedule::next_due() const {
  if (size_ == 0)
    return std::nullopt;
  // Skip empty buckets: a small fleet wakes the supervisor only when some
  // node is due.
  auto r = next_round_;
  while (buckets_[r % buckets_.size()].empty())
    ++r;
  return time_point{r * round_};
}

} // namespace dirscope
