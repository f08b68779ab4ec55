// Consumer smoke test, compiled against an installed keyward: by CMake through find_package()
// (CMakeLists.txt) and by Make through pkg-config (Makefile). It prints the version it was
// compiled against, which tools/lib.sh compares with the project's, so that a stale copy of
// keyward elsewhere on the include path cannot pass for the one just installed.
#include <cstdio>
#include <keyward/keyward.hpp>

int main() {
  std::printf("keyward %d.%d.%d\n", KEYWARD_VERSION_MAJOR, KEYWARD_VERSION_MINOR,
              KEYWARD_VERSION_PATCH);
  return 0;
}
