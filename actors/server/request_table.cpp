#include "actors/server/request_table.hpp"

namespace dirscope {

const char* command_of(const pending_request& req) {
  switch (req.kind) {
    case request_kind::list:
      return "ls";
    case request_kind::stat:
      return "stat";
    case request_kind::du:
      return "du";
    case request_kind::remove:
      return req.recursive ? "rm -r" : "rm";
    case request_kind::get:
      return "get";
    case request_kind::put:
      return "put";
    case request_kind::find:
      return "find";
  }
  return "?";
}

uint32_t request_table::add(pending_request req) {
  for (;;) {
    auto id = next_id++;
    if (next_id == 0)
      next_id = 1;
    if (id != 0 && map_.count(id) == 0) {
      map_.emplace(id, std::move(req));
      return id;
    }
  }
}

request_table::iterator request_table::find(uint32_t id, request_kind kind) {
  auto i = map_.find(id);
  if (i == map_.end() || i->second.kind != kind)
    return map_.end();
  return i;
}

request_table::iterator request_table::find_query(uint64_t query) {
  // Linear: at most max_in_flight entries, and no second index to keep in
  // step with the table.
  for (auto i = map_.begin(); i != map_.end(); ++i)
    if (i->second.query == query)
      return i;
  return map_.end();
}

pending_request request_table::take(iterator i) {
  auto result = std::move(i->second);
  map_.erase(i);
  return result;
}

} // namespace dirscope
