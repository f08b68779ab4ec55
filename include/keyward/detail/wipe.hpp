// detail::wipe(): overwrite a string that held a secret before its memory is released.
#pragma once

#include <cstddef>
#include <string>

namespace keyward::detail {

/// Overwrites a string's bytes, spare capacity included, and empties it.
inline void wipe(std::string& text) noexcept {
  // Growing to the capacity never allocates and makes the whole buffer writable, including
  // bytes a shorter or moved-from string left behind. The volatile writes cannot be dropped.
  text.resize(text.capacity());
  volatile char* p = text.data();
  for (std::size_t i = 0; i < text.size(); ++i) p[i] = 0;
  text.clear();
}

}  // namespace keyward::detail
