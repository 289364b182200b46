#pragma once

#include <string>
#include <utility>
#include <variant>

#include "protocol/wire_code.hpp"

namespace dirscope {

/// A failure as it travels between pure code, actors and the wire: a
/// protocol-level code and a message for people.
struct failure {
  wire_code code = wire_code::internal;
  std::string message;
};

/// The result of a pure operation: a value or a failure. A deliberately
/// tiny stand-in for caf::expected so that protocol/ and node/ stay CAF-free.
template <class T>
class outcome {
public:
  outcome(T value) : data_(std::move(value)) {
    // nop
  }

  outcome(failure err) : data_(std::move(err)) {
    // nop
  }

  bool ok() const noexcept {
    return data_.index() == 0;
  }

  explicit operator bool() const noexcept {
    return ok();
  }

  T& value() {
    return std::get<0>(data_);
  }

  const T& value() const {
    return std::get<0>(data_);
  }

  T& operator*() {
    return value();
  }

  T* operator->() {
    return &value();
  }

  const failure& error() const {
    return std::get<1>(data_);
  }

private:
  std::variant<T, failure> data_;
};

inline failure make_failure(wire_code code, std::string message) {
  return failure{code, std::move(message)};
}

} // namespace dirscope
