# The optional adapters' targets: the transports (include/keyward/transport/) keyward::curl,
# keyward::async_curl (libcurl's multi interface on standalone asio) and keyward::httplib, the Redis store (store/redis.hpp) keyward::redis and the OpenClaw store
# (store/openclaw.hpp, over SQLite) keyward::openclaw, each defined only when its library is found. Included by keyward's own
# build and by the installed keywardConfig.cmake, so that a consumer gets the same targets from
# the libraries on its own machine (they are not exported: the libraries are not keyward's
# dependencies). `keyward_core` names the core target to link.
function(keyward_add_transports keyward_core)
  if(NOT TARGET keyward::curl)
    find_package(CURL QUIET)
    if(TARGET CURL::libcurl)
      add_library(keyward::curl INTERFACE IMPORTED GLOBAL)
      target_link_libraries(keyward::curl INTERFACE ${keyward_core} CURL::libcurl)
    endif()
  endif()
  if(NOT TARGET keyward::async_curl AND TARGET keyward::curl)
    # Standalone asio (Debian: libasio-dev) is headers only: found by its asio.hpp.
    find_path(KEYWARD_ASIO_INCLUDE_DIR asio.hpp)
    find_package(Threads QUIET)
    if(KEYWARD_ASIO_INCLUDE_DIR AND TARGET Threads::Threads)
      add_library(keyward::async_curl INTERFACE IMPORTED GLOBAL)
      target_link_libraries(keyward::async_curl INTERFACE keyward::curl Threads::Threads)
      target_include_directories(keyward::async_curl SYSTEM INTERFACE ${KEYWARD_ASIO_INCLUDE_DIR})
      # asio 1.22 enables co_await (use_awaitable) on clang only for the Coroutines TS
      # (__cpp_coroutines); clang 14 in C++20 mode (which keyward needs) has the standard
      # <coroutine> that g++ uses.
      target_compile_definitions(keyward::async_curl INTERFACE
                                 $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1>)
    endif()
  endif()
  if(NOT TARGET keyward::httplib)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
      # Debian's cpp-httplib is a compiled library whose pkg-config flags (OpenSSL, zlib, brotli
      # support) must match the ones it was built with.
      pkg_check_modules(keyward_cpp_httplib QUIET IMPORTED_TARGET GLOBAL cpp-httplib)
    endif()
    if(TARGET PkgConfig::keyward_cpp_httplib)
      add_library(keyward::httplib INTERFACE IMPORTED GLOBAL)
      target_link_libraries(keyward::httplib INTERFACE ${keyward_core}
                                                       PkgConfig::keyward_cpp_httplib)
    endif()
  endif()
  if(NOT TARGET keyward::redis)
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
      pkg_check_modules(keyward_hiredis QUIET IMPORTED_TARGET GLOBAL hiredis)
    endif()
    if(TARGET PkgConfig::keyward_hiredis)
      add_library(keyward::redis INTERFACE IMPORTED GLOBAL)
      target_link_libraries(keyward::redis INTERFACE ${keyward_core} PkgConfig::keyward_hiredis)
    endif()
  endif()
  if(NOT TARGET keyward::openclaw)
    find_package(SQLite3 QUIET)
    if(TARGET SQLite::SQLite3)
      add_library(keyward::openclaw INTERFACE IMPORTED GLOBAL)
      target_link_libraries(keyward::openclaw INTERFACE ${keyward_core} SQLite::SQLite3)
    endif()
  endif()
endfunction()
