#!/usr/bin/env bash
# Compiles every public header (one TU including them all), the README's example and the guides'
# programs (examples/guides/*.cpp) with the warnings a careful user builds with, on g++ and
# clang++: -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror, and nothing switched off;
# header-only and with KEYWARD_SEPARATE_COMPILATION.
# Headers under transport/ need third-party clients and are checked where those are available.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tu=$(mktemp --suffix=.cpp)
trap 'rm -f "$tu"' EXIT
(cd include && find keyward -name '*.hpp' ! -path '*/transport/*' ! -path '*/impl/*' | sort) |
  sed 's/.*/#include "&"/' >"$tu"
echo 'int main() { return 0; }' >>"$tu"
flags=(-std=c++20 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror -Iinclude -fsyntax-only)
for cxx in g++ clang++; do
  "$cxx" "${flags[@]}" "$tu"
  # Separate compilation (keyward/detail/config.hpp): the same headers as declarations, and the
  # one TU that defines what they declare.
  { cat "$tu"; echo '#include "keyward/impl/src.hpp"'; } |
    "$cxx" "${flags[@]}" -DKEYWARD_SEPARATE_COMPILATION -x c++ -
  "$cxx" "${flags[@]}" examples/quickstart.cpp
  for f in examples/guides/*.cpp; do "$cxx" "${flags[@]}" "$f"; done
  # The optional transports, with their libraries' own flags (cpp-httplib's must match its build).
  for transport in curl:libcurl httplib:cpp-httplib; do
    if pkg-config --exists "${transport#*:}"; then
      # shellcheck disable=SC2046 # pkg-config's flags are words
      echo "#include \"keyward/transport/${transport%%:*}.hpp\"" |
        "$cxx" "${flags[@]}" $(pkg-config --cflags "${transport#*:}") -x c++ -
    fi
  done
  echo "$cxx: every public header, the README's example and the guides' programs compile" \
    "without a warning"
done
