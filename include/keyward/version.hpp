// The library's version, as macros for the preprocessor and constants for code.
#pragma once

#define KEYWARD_VERSION_MAJOR 0
#define KEYWARD_VERSION_MINOR 1
#define KEYWARD_VERSION_PATCH 0

namespace keyward {

/// The library's version as "major.minor.patch".
inline constexpr const char* version_string = "0.1.0";

}  // namespace keyward
