// The translation unit that compiles keyward's non-template functions once, for programs built
// with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp, docs/building.md): include this
// file in exactly one .cpp file of the program, with the macro defined there as everywhere else.
#pragma once

#if !defined(KEYWARD_SEPARATE_COMPILATION)
// docs/building.md: define the macro in every translation unit of the program.
#error "keyward/impl/src.hpp is for separate compilation: KEYWARD_SEPARATE_COMPILATION"
#endif

// Each header's definitions, by directory. Every .ipp includes its header.

// keyward/detail: text, time, JSON, messages
#include "keyward/detail/impl/base64.ipp"
#include "keyward/detail/impl/json.ipp"
#include "keyward/detail/impl/jwt.ipp"
#include "keyward/detail/impl/messages.ipp"
#include "keyward/detail/impl/retry_after.ipp"
#include "keyward/detail/impl/scrub.ipp"
#include "keyward/detail/impl/text.ipp"
#include "keyward/detail/impl/www_authenticate.ipp"

// keyward/detail: URLs, redirects, redemption, streams; keyward/refresh; keyward/transport
#include "keyward/detail/impl/origin_cache.ipp"
#include "keyward/detail/impl/policy_support.ipp"
#include "keyward/detail/impl/redemption.ipp"
#include "keyward/detail/impl/redirect.ipp"
#include "keyward/detail/impl/stream_attempt.ipp"
#include "keyward/refresh/impl/oauth2_refresh_token.ipp"
#include "keyward/transport/impl/options.ipp"

// keyward/classify, keyward/preflight, keyward/provider
#include "keyward/classify/impl/anthropic.ipp"
#include "keyward/classify/impl/error_document.ipp"
#include "keyward/classify/impl/google.ipp"
#include "keyward/classify/impl/http_status.ipp"
#include "keyward/classify/impl/openai.ipp"
#include "keyward/classify/impl/provider_support.ipp"
#include "keyward/classify/impl/rfc6750.ipp"
#include "keyward/impl/preflight.ipp"
#include "keyward/preflight/impl/prefix.ipp"
#include "keyward/provider/impl/anthropic.ipp"
#include "keyward/provider/impl/google.ipp"
#include "keyward/provider/impl/openai.ipp"
#include "keyward/provider/impl/tuning.ipp"

// keyward/ (the top-level headers), keyward/cooldown, keyward/store, the cell's state
#include "keyward/cooldown/impl/exponential_backoff.ipp"
#include "keyward/detail/impl/credential_state.ipp"
#include "keyward/impl/breaker.ipp"
#include "keyward/impl/credential.ipp"
#include "keyward/impl/error.ipp"
#include "keyward/impl/options.ipp"
#include "keyward/impl/provider_guard.ipp"
#include "keyward/impl/retry_budget.ipp"
#include "keyward/impl/status.ipp"
#include "keyward/store/impl/memory.ipp"
