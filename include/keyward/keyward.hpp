// keyward: keeps an HTTP client's credentials alive. The umbrella header.
//
// Include this, adapt your HTTP client to the Transport concept, and wrap it in a
// ResilientCredential. The five headers to read first: transport.hpp, classifier.hpp,
// refresh_strategy.hpp, cooldown_policy.hpp and resilient_credential.hpp.
#pragma once

#include "keyward/async_transport.hpp"
#include "keyward/attacher.hpp"
#include "keyward/classifier.hpp"
#include "keyward/classify/anthropic.hpp"
#include "keyward/classify/google.hpp"
#include "keyward/classify/http_status.hpp"
#include "keyward/classify/openai.hpp"
#include "keyward/classify/rfc6750.hpp"
#include "keyward/clock.hpp"
#include "keyward/cooldown/exponential_backoff.hpp"
#include "keyward/cooldown_policy.hpp"
#include "keyward/credential.hpp"
#include "keyward/credential_kind.hpp"
#include "keyward/default_policies.hpp"
#include "keyward/error.hpp"
#include "keyward/observe/json_lines.hpp"
#include "keyward/observer.hpp"
#include "keyward/pool.hpp"
#include "keyward/preflight.hpp"
#include "keyward/provider/anthropic.hpp"
#include "keyward/provider/google.hpp"
#include "keyward/provider/openai.hpp"
#include "keyward/provider/rfc6750.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"
#include "keyward/refresh/static_credential.hpp"
#include "keyward/refresh_strategy.hpp"
#include "keyward/resilient_credential.hpp"
#include "keyward/result.hpp"
#include "keyward/status.hpp"
#include "keyward/transport.hpp"
#include "keyward/version.hpp"
