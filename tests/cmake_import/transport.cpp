// Built by CMakeLists.txt for each transport target an installed keyward offers: the transport's
// header compiles and its library links.
#ifdef KEYWARD_IMPORT_CURL
#include <keyward/transport/curl.hpp>
using Transport = keyward::transport::Curl;
#else
#include <keyward/transport/httplib.hpp>
using Transport = keyward::transport::Httplib;
#endif

int main() {
  Transport transport{{.max_idle_connections = 1}};
  return transport.options().max_idle_connections == 1 ? 0 : 1;
}
