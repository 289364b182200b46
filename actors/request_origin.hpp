#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace dirscope {

/// Who asks a node connection for something: the asking console's query id
/// (its acks and cancels name it) and the operator behind that console, for
/// the request report ("console" at the server's terminal, the API's
/// operator name for an API session).
struct request_origin {
  uint64_t query = 0;
  std::string operator_name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_origin& x) {
  return f(caf::meta::type_name("request_origin"), x.query, x.operator_name);
}

} // namespace dirscope
