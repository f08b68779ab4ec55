// Consumer smoke test: compiled against an installed keyward via find_package().
#include <keyward/keyward.hpp>

static_assert(KEYWARD_VERSION_MAJOR == 0, "installed keyward has an unexpected major version");

int main() { return 0; }
