// Definitions for keyward/detail/redemption.hpp: included by it when header-only, compiled once
// by keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include "keyward/detail/redemption.hpp"

namespace keyward::detail {

KEYWARD_DECL Obtained::Obtained() noexcept = default;
KEYWARD_DECL Obtained::Obtained(const Obtained& other) = default;
KEYWARD_DECL Obtained::Obtained(Obtained&& other) noexcept = default;
KEYWARD_DECL Obtained& Obtained::operator=(const Obtained& other) = default;
KEYWARD_DECL Obtained& Obtained::operator=(Obtained&& other) noexcept = default;
KEYWARD_DECL Obtained::~Obtained() = default;

}  // namespace keyward::detail
