# CPack: `cpack` in a configured build directory makes the .deb packages and
# `cpack --config CPackSourceConfig.cmake` the source tarball (keyward-<version>.tar.gz);
# `cpack --preset deb`, `cpack --preset debs` and `cpack --preset source` do the same from the
# source directory (tools/check_package.sh builds, installs and uses all of them).
#
# One .deb per install component (cmake/keywardInstall.cmake):
#   keyward_<version>_all.deb           `development`: headers, CMake package, keyward.pc;
#                                       Architecture: all, no Depends (nothing is compiled)
#   keyward-tools_<version>_<arch>.deb  `tool`: the keyward command-line tool, built for this
#                                       machine; its Depends (libc6, libstdc++6, libcurl4,
#                                       libhiredis, libcpp-httplib ...) are read from the
#                                       libraries the binary links, by dpkg-shlibdeps (dpkg-dev)
# The `headers` preset builds no tool and so makes only the first (`cpack --preset deb`); the
# `tools` preset makes both (`cpack --preset debs`, after `cmake --build --preset tools`).
# Values are written to CPackConfig.cmake as they are (regexes below keep their backslashes).
set(CPACK_VERBATIM_VARIABLES ON)
set(CPACK_PACKAGE_NAME keyward)
set(CPACK_PACKAGE_VENDOR keyward)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "keyward classifies every HTTP response an API client gets, refreshes OAuth tokens once and \
replays, cools down only the credential that deserves it, and tells a person exactly what to fix \
when nothing else can. Header-only C++20; this package has the headers, the CMake package \
(find_package(keyward)) and keyward.pc for pkg-config.")
set(KEYWARD_PACKAGE_MAINTAINER "keyward maintainers"
    CACHE STRING "The Maintainer of the .deb, \"Name <email>\"")
set(CPACK_PACKAGE_CONTACT "${KEYWARD_PACKAGE_MAINTAINER}")

# Binary packages: one .deb per component (see above).
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
if(KEYWARD_BUILD_TOOLS)
  set(CPACK_COMPONENTS_ALL development tool)
else()
  set(CPACK_COMPONENTS_ALL development)
endif()
set(CPACK_COMPONENTS_GROUPING IGNORE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

# keyward: the headers.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME keyward)
set(CPACK_DEBIAN_DEVELOPMENT_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY (the project's description) first in each
# package's Description, then the component's text.
set(CPACK_DEBIAN_DEVELOPMENT_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
# Debian names a header-only package lib<name>-dev; let a Depends on that name find this one.
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_PROVIDES libkeyward-dev)
# Nothing is needed to install it; to use it, a C++20 compiler and one of the two build-system
# files it carries (Debian 12's g++ 12 and clang 14 are the compilers CI builds with).
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SUGGESTS
    "g++ (>= 12) | clang (>= 14), cmake (>= 3.25) | pkgconf")

# keyward-tools: the tool, for this architecture, depending on the libraries it links.
set(CPACK_DEBIAN_TOOL_PACKAGE_NAME keyward-tools)
set(CPACK_DEBIAN_TOOL_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_TOOL_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_TOOL_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_TOOL_DESCRIPTION "The keyward command-line tool, for people and scripts: \
`keyward classify` says what an HTTP response means for the credential that got it, `keyward get` \
sends one request through keyward (refreshing and storing OAuth tokens, from a credentials \
file or Redis), `keyward status` lists the stored credentials by fingerprint, `keyward demo` \
shows the library at work. `keyward --help` lists every command and exit code.")
set(CPACK_STRIP_FILES ON)

# Source tarball: the source tree without build output, VCS and editor files.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_PACKAGE_FILE_NAME keyward-${PROJECT_VERSION})
string(REPLACE "." "\\." keyward_src "${PROJECT_SOURCE_DIR}")
set(CPACK_SOURCE_IGNORE_FILES
    "^${keyward_src}/build/"
    "^${keyward_src}/out/"
    "^${keyward_src}/cmake-build-"
    "^${keyward_src}/\\.git$"
    "^${keyward_src}/\\.git/"
    "^${keyward_src}/\\.cache/"
    "^${keyward_src}/\\.vscode/"
    "^${keyward_src}/\\.idea/"
    "/CMakeUserPresets\\.json$"
    "/compile_commands\\.json$"
    "/__pycache__/"
    "\\.swp$"
    "~$")

include(CPack)
