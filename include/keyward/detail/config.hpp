// How keyward's functions are compiled: header-only (the default) or once, separately.
//
// Header-only, every function is `inline` and defined in the headers: nothing to build or link,
// and every translation unit that uses a function compiles it. With KEYWARD_SEPARATE_COMPILATION
// defined in every translation unit, the headers declare the functions that do not depend on a
// user's type and one translation unit defines them, by including keyward/impl/src.hpp
// (docs/building.md, "Separate compilation"). The rest of a program's translation units then
// compile only the templates, for their own types. The model is asio's.
//
// The macro must be the same in every translation unit of a program: one built header-only and
// one built separately define the same inline and non-inline functions (an ODR violation).
#pragma once

#if defined(KEYWARD_SEPARATE_COMPILATION)
/// Declares (and defines, in keyward/impl/src.hpp) a function compiled once.
#define KEYWARD_DECL
#else
/// Header-only: the headers include their definitions (the `impl/*.ipp` files).
#define KEYWARD_HEADER_ONLY 1
/// Declares a function defined in the headers.
#define KEYWARD_DECL inline
#endif
