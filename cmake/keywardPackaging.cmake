# CPack: `cpack` in a configured build directory makes the .deb (keyward_<version>_all.deb) and
# `cpack --config CPackSourceConfig.cmake` the source tarball (keyward-<version>.tar.gz);
# `cpack --preset deb` and `cpack --preset source` do the same from the source directory
# (tools/check_package.sh builds, installs and uses both).
#
# The .deb holds the `development` component only (headers, CMake package, keyward.pc), and is
# therefore Architecture: all. The keyward tool is left out on purpose: with it the package
# would be built per architecture and depend on a libstdc++ version, for a program most users of
# a header-only library never run; those who want it build it (README, "Installing").
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

# Binary packages: the .deb, of the `development` component only (see above), as one package.
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL development)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_PACKAGE_NAME keyward)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Debian names a header-only package lib<name>-dev; let a Depends on that name find this one.
set(CPACK_DEBIAN_PACKAGE_PROVIDES libkeyward-dev)
# Nothing is needed to install it; to use it, a C++20 compiler and one of the two build-system
# files it carries (Debian 12's g++ 12 and clang 14 are the compilers CI builds with).
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "g++ (>= 12) | clang (>= 14), cmake (>= 3.25) | pkgconf")

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
