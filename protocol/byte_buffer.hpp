#pragma once

// A byte vector whose resize() leaves new bytes uninitialised: for buffers
// that are grown only to be overwritten at once (decryption, read()), where
// zero-filling first would cost a pass over every byte received.

#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace dirscope::protocol {

/// std::allocator, except that value-initialisation (what resize() asks
/// for) default-initialises, i.e. does nothing for bytes.
template <class T>
class uninit_allocator : public std::allocator<T> {
public:
  using std::allocator<T>::allocator;

  template <class U>
  struct rebind {
    using other = uninit_allocator<U>;
  };

  template <class U>
  void construct(U* ptr) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(ptr)) U;
  }

  template <class U, class... Ts>
  void construct(U* ptr, Ts&&... xs) {
    std::allocator_traits<std::allocator<T>>::construct(
      static_cast<std::allocator<T>&>(*this), ptr, std::forward<Ts>(xs)...);
  }
};

/// Received bytes: grows without zero-filling.
using byte_buffer = std::vector<uint8_t, uninit_allocator<uint8_t>>;

} // namespace dirscope::protocol
