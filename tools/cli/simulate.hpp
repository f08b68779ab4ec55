// `keyward simulate SCENARIO`: runs a scenario (docs/simulate.md) on virtual time through the
// real CredentialPool, its cells and refresh coordinators, against a scripted provider, and
// writes one JSON line per event and per request outcome, then the final status.
//
// Why this file is over 300 lines: reading the scenario, the scripted provider (API and token
// endpoint), the scheduler of overlapping requests and the run share the scenario's types; none
// of it is library code.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "cli/simulate_expect.hpp"
#include "cli/simulate_fleet.hpp"
#include "cli/wording.hpp"
#include "keyward/detail/json.hpp"
#include "keyward/detail/text.hpp"
#include "keyward/observe/json_lines.hpp"
#include "keyward/pool.hpp"
#include "keyward/provider/anthropic.hpp"
#include "keyward/provider/google.hpp"
#include "keyward/provider/openai.hpp"
#include "keyward/provider/rfc6750.hpp"
#include "keyward/refresh/oauth2_refresh_token.hpp"

namespace keyward::cli::sim {

/// The identifier of a keyward::Errc, as docs/simulate.md names it in an error's "code" (the
/// sentence is the error's "message"); the category's message for a code that is not keyward's.
inline std::string errc_identifier(const std::error_code& code) {
  if (code.category() != error_category()) return code.message();
  return std::string{to_string(static_cast<Errc>(code.value()))};
}

using Value = detail::json::Value;  ///< The one JSON type of this file.

/// 2026-01-01T00:00:00Z, virtual time zero.
inline const TimePoint kEpoch{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
inline constexpr std::string_view kApiUrl = "https://api.sim.test/v1/messages";
inline constexpr std::string_view kTokenUrl = "https://auth.sim.test/oauth/token";

/// Virtual time: moves only when the simulator or a sleep moves it. Copies share the time.
class Clock {
 public:
  /// The virtual time.
  [[nodiscard]] TimePoint now() const noexcept {
    return TimePoint{TimePoint::duration{ticks_->load()}};
  }
  /// Moves the time to `t` unless it is already later.
  void advance_to(TimePoint t) const noexcept {
    auto current = ticks_->load();
    while (current < t.time_since_epoch().count() &&
           !ticks_->compare_exchange_weak(current, t.time_since_epoch().count())) {
    }
  }

 private:
  std::shared_ptr<std::atomic<TimePoint::rep>> ticks_ =
      std::make_shared<std::atomic<TimePoint::rep>>(kEpoch.time_since_epoch().count());
};

/// Interleaves the requests of one batch (several in flight at one virtual instant): each runs
/// on its own thread, one at a time; a request gives way only where it would wait (an API call,
/// a sleep), and the next to run is the one that wakes first, ties drawn from a seeded generator.
/// Outside a batch, waiting only moves the virtual time. The same seed gives the same order.
class Scheduler {
 public:
  /// Moves `clock`; draws with a generator seeded with `seed`.
  Scheduler(Clock clock, std::uint64_t seed) : clock_(std::move(clock)), rng_(seed) {}

  /// Runs every job, interleaved; returns when all have ended, rethrowing the first exception.
  void run(const std::vector<std::function<void()>>& jobs) {
    std::exception_ptr thrown;
    std::vector<std::thread> threads;
    {
      const std::scoped_lock lock(mutex_);
      live_ = jobs.size();
      open_ = false;  // nobody runs before every request of the batch is waiting
    }
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      threads.emplace_back([this, i, &jobs, &thrown] {
        self_ = {this, i + 1};
        wait_until(clock_.now());
        try {
          jobs[i]();
        } catch (...) {
          const std::scoped_lock lock(mutex_);
          if (!thrown) thrown = std::current_exception();
        }
        const std::scoped_lock lock(mutex_);
        --live_;
        running_ = 0;
        pick();
        done_.notify_all();
      });
    }
    {
      std::unique_lock lock(mutex_);
      done_.wait(lock, [&] { return parked_.size() == jobs.size(); });
      open_ = true;
      pick();
      done_.wait(lock, [&] { return live_ == 0; });
    }
    for (std::thread& t : threads) t.join();
    if (thrown) std::rethrow_exception(thrown);
  }

  /// Waits until virtual time `wake`: in a batch, lets the others run meanwhile.
  void wait_until(TimePoint wake) {
    if (self_.first != this) {
      clock_.advance_to(wake);
      return;
    }
    std::unique_lock lock(mutex_);
    parked_.push_back({wake, self_.second});
    running_ = 0;
    pick();
    done_.notify_all();  // the batch's start waits for every request to be parked
    done_.wait(lock, [&] { return running_ == self_.second; });
  }

 private:
  // Wakes the parked request that wakes first (a seeded draw among ties); the lock is held.
  void pick() {
    if (!open_ || running_ != 0 || parked_.empty()) return;
    TimePoint first = parked_.front().first;
    for (const auto& p : parked_) first = std::min(first, p.first);
    std::vector<std::size_t> due;
    for (std::size_t i = 0; i < parked_.size(); ++i) {
      if (parked_[i].first == first) due.push_back(i);
    }
    // In the order of the requests' numbers, not of their arrival (the threads of a batch
    // arrive in whatever order the system starts them).
    std::sort(due.begin(), due.end(),
              [&](std::size_t x, std::size_t y) { return parked_[x].second < parked_[y].second; });
    const std::size_t chosen = due[rng_() % due.size()];
    running_ = parked_[chosen].second;
    parked_.erase(parked_.begin() + static_cast<std::ptrdiff_t>(chosen));
    clock_.advance_to(first);
    done_.notify_all();
  }

  static inline thread_local std::pair<const Scheduler*, std::size_t> self_{nullptr, 0};
  Clock clock_;
  std::mt19937_64 rng_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<std::pair<TimePoint, std::size_t>> parked_;
  std::size_t running_ = 0;
  std::size_t live_ = 0;
  bool open_ = false;
};

/// Waits until `wake` through `scheduler`, or (without one) only moves `clock` there.
inline void wait_until(const std::shared_ptr<Scheduler>& scheduler, const Clock& clock,
                       TimePoint wake) {
  if (scheduler != nullptr) {
    scheduler->wait_until(wake);
  } else {
    clock.advance_to(wake);
  }
}

/// Sleeps on virtual time.
struct Sleeper {
  Clock clock;                                     ///< The time to move.
  std::shared_ptr<Scheduler> scheduler = nullptr;  ///< Lets a batch's others run meanwhile.
  /// Moves the virtual time forward by `d`.
  void sleep_for(std::chrono::milliseconds d) const {
    sim::wait_until(scheduler, clock, clock.now() + d);
  }
};

/// Seconds of virtual time.
inline TimePoint at_seconds(double s) {
  return kEpoch + std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(s * 1000))};
}

/// The transport failures a rule can script, by the names of TransportErrc.
inline std::optional<TransportErrc> transport_errc(std::string_view name) {
  for (const auto kind : {TransportErrc::connect, TransportErrc::timeout, TransportErrc::tls,
                          TransportErrc::protocol, TransportErrc::other}) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

/// One scripted answer: matched by time window, profile, token and model; the first match wins.
/// A rule with `times` answers that many requests and then no more.
struct Rule {
  double from = 0;
  double to = 1e18;
  std::string profile, token, model;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<TransportErrc> fail;  // no response: the transport's failure instead
  std::optional<double> latency;      // seconds before the answer arrives
  long long times = -1;               // answers left; -1: unlimited
};

/// The scripted provider's state: who holds which token, and the scripts.
struct Script {
  std::vector<Rule> api;
  std::vector<Rule> token;                   // token endpoint answers (profile and time match)
  double expires_in = 3600;                  // of issued access tokens
  bool rotate = true;                        // issue a new refresh token with each refresh
  std::map<std::string, std::string> owner;  // token -> profile
  std::map<std::string, std::string> live_refresh;      // profile -> its live refresh token
  std::map<std::string, int> issued;                    // profile -> tokens issued
  std::map<std::thread::id, std::string> last_profile;  // who sent each thread's last request
  double token_latency = 0;                             // of the token endpoint's answers
  std::size_t token_calls = 0;                          // calls the token endpoint saw
  std::set<std::string> refresh_tokens;                 // every refresh token ever issued
  std::string access_prefix = "sim-access-";            // of issued tokens: the provider's own
  std::string refresh_prefix = "sim-refresh-";          // prefixes where pre-flight wants them
  std::mutex mutex;
};

inline std::string text_of(const Value& v, std::string_view key, std::string_view fallback = {}) {
  return std::string{v.string_or(key, fallback)};
}
inline double number_of(const Value& v, std::string_view key, double fallback) {
  const Value* member = v.find(key);
  return member != nullptr && member->as_number() ? *member->as_number() : fallback;
}
inline bool bool_of(const Value& v, std::string_view key, bool fallback) {
  const Value* member = v.find(key);
  return member != nullptr && member->as_bool() ? *member->as_bool() : fallback;
}
inline const std::vector<Value>& array_of(const Value& v, std::string_view key) {
  static const std::vector<Value> kNone;
  const Value* member = v.find(key);
  return member != nullptr && member->as_array() ? *member->as_array() : kNone;
}

inline Rule rule_of(const Value& v) {
  Rule r;
  r.from = number_of(v, "from_s", 0);
  r.to = number_of(v, "to_s", 1e18);
  r.profile = text_of(v, "profile");
  r.token = text_of(v, "token");
  r.model = text_of(v, "model");
  r.status = static_cast<int>(number_of(v, "status", 200));
  r.body = text_of(v, "body");
  if (v.find("fail") != nullptr) r.fail = transport_errc(text_of(v, "fail"));
  if (v.find("latency_s") != nullptr) r.latency = number_of(v, "latency_s", 0);
  if (v.find("times") != nullptr) r.times = std::llround(number_of(v, "times", 1));
  if (const Value* h = v.find("headers"); h != nullptr && h->as_object()) {
    for (const auto& [name, value] : *h->as_object()) {
      if (value.as_string()) r.headers.emplace_back(name, *value.as_string());
    }
  }
  return r;
}

inline std::string issued(std::string_view prefix, std::string_view profile, int n);

/// The scripted provider as a Transport: the API at kApiUrl, the token endpoint at kTokenUrl.
class Provider {
 public:
  /// Answers from `script` at the virtual time of `clock`; waits through `scheduler`.
  Provider(std::shared_ptr<Script> script, Clock clock,
           std::shared_ptr<Scheduler> scheduler = nullptr)
      : script_(std::move(script)), clock_(std::move(clock)), scheduler_(std::move(scheduler)) {}

  /// Answers one request. An API call gives way to the other requests of a batch until its
  /// answer arrives; a token call does not (a refresh holds the batch still).
  TransportResult send(const Request& request) const {
    const double now = std::chrono::duration<double>(clock_.now() - kEpoch).count();
    std::unique_lock lock(script_->mutex);
    if (request.url == kTokenUrl) return token(request, now);
    std::string token{request.headers.get("x-api-key").value_or("")};
    if (token.empty()) token = std::string{request.headers.get("x-goog-api-key").value_or("")};
    if (token.empty()) {
      const auto auth = request.headers.get("authorization").value_or("");
      token = std::string{auth.starts_with("Bearer ") ? auth.substr(7) : auth};
    }
    const std::string profile = script_->owner.count(token) ? script_->owner[token] : "";
    const std::string model{request.headers.get("x-sim-model").value_or("")};
    script_->last_profile[std::this_thread::get_id()] = profile;
    const Rule* matched = nullptr;
    for (Rule& r : script_->api) {
      if (now < r.from || now >= r.to || r.times == 0) continue;
      if (!r.profile.empty() && r.profile != profile) continue;
      if (!r.token.empty() && r.token != token) continue;
      if (!r.model.empty() && r.model != model) continue;
      if (r.times > 0) --r.times;
      matched = &r;
      break;
    }
    const Rule fallback;
    const Rule answered = matched != nullptr ? *matched : fallback;
    lock.unlock();
    sim::wait_until(scheduler_, clock_, clock_.now() + seconds(answered.latency.value_or(0)));
    return answer(answered);
  }

 private:
  static std::chrono::milliseconds seconds(double s) {
    return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(s * 1000))};
  }

  static TransportResult answer(const Rule& r) {
    if (r.fail) {
      return unexpected(TransportFailure{
          *r.fail, "simulated " + std::string{to_string(*r.fail)} + " failure (scenario)"});
    }
    Headers headers{{"content-type", "application/json"}};
    for (const auto& [name, value] : r.headers) headers.set(name, value);
    return Response{r.status, std::move(headers), r.body.empty() ? "{}" : r.body};
  }

  // The refresh-token grant, in form or JSON bodies; rotation as scripted.
  TransportResult token(const Request& request, double now) const {
    // The refresh token presented: any this endpoint knows that the body carries.
    std::string presented;
    std::string profile;
    for (const auto& [token, owner] : script_->owner) {
      std::string encoded;  // in a form body (Google's "1//" is "1%2F%2F" there)
      detail::append_form_encoded(encoded, token);
      if (token.size() > presented.size() && script_->refresh_tokens.contains(token) &&
          (request.body.find(token) != std::string::npos ||
           request.body.find(encoded) != std::string::npos)) {
        presented = token;
        profile = owner;
      }
    }
    ++script_->token_calls;
    for (Rule& r : script_->token) {
      if (now < r.from || now >= r.to || r.times == 0) continue;
      if (!r.profile.empty() && r.profile != profile) continue;
      if (r.times > 0) --r.times;
      clock_.advance_to(clock_.now() + seconds(r.latency.value_or(script_->token_latency)));
      return answer(r);
    }
    clock_.advance_to(clock_.now() + seconds(script_->token_latency));
    if (profile.empty() || script_->live_refresh[profile] != presented) {
      return Response{400, Headers{{"content-type", "application/json"}},
                      R"({"error":"invalid_grant","error_description":"refresh token revoked"})"};
    }
    const int n = ++script_->issued[profile];
    const std::string access = issued(script_->access_prefix, profile, n);
    std::string refresh = presented;
    if (script_->rotate) {
      refresh = issued(script_->refresh_prefix, profile, n);
      script_->live_refresh[profile] = refresh;
      script_->refresh_tokens.insert(refresh);
    }
    script_->owner[access] = profile;
    script_->owner[refresh] = profile;
    return Response{200, Headers{{"content-type", "application/json"}},
                    R"({"access_token":")" + access + R"(","token_type":"Bearer","expires_in":)" +
                        std::to_string(static_cast<long long>(script_->expires_in)) +
                        R"(,"refresh_token":")" + refresh + R"("})"};
  }

  std::shared_ptr<Script> script_;
  Clock clock_;
  std::shared_ptr<Scheduler> scheduler_;
};

/// The n-th token with `prefix` issued to `profile`; its last four characters (what a
/// fingerprint shows) are the serial.
inline std::string issued(std::string_view prefix, std::string_view profile, int n) {
  std::string serial = std::to_string(n);
  serial.insert(0, serial.size() < 4 ? 4 - serial.size() : 0, '0');
  return std::string{prefix} + std::string{profile} + "-0123456789-" + serial;
}

/// A bundle with its own refresh-token grant: oauth_refresh(client_id), or with a client secret.
template <class Bundle>
concept OwnRefresh = requires {
  Bundle::oauth_refresh(std::string{});
}
|| requires { Bundle::oauth_refresh(std::string{}, Secret{}); };

/// The simulator's policies over a provider bundle: virtual time, events as JSON lines.
template <class Bundle>
struct Policies : Bundle {
  using Clock = sim::Clock;             ///< Virtual time.
  using Sleeper = sim::Sleeper;         ///< Sleeps on virtual time.
  using Observer = observe::JsonLines;  ///< One JSON line per event.
  using Refresh = std::conditional_t<OwnRefresh<Bundle>, typename Bundle::Refresh,
                                     refresh::OAuth2RefreshToken>;  ///< The bundle's own grant.
};

/// The client secret of the scripted token endpoint, for bundles that send one (Google's).
inline constexpr std::string_view kClientSecret = "sim-client-secret-0123456789";

/// Runs `scenario` (the text of a scenario file) and writes its lines to `out`; throws
/// ScenarioError when the scenario cannot be run (an unknown key or a bad value included).
/// `summary` adds a table at the end. Returns the failed expectations of its `expect` block,
/// one line each (empty when they all hold or there is none).
inline std::vector<std::string> run(std::string_view scenario, std::ostream& out,
                                    bool summary = false);

/// What a run leaves for its expectations besides its output.
struct Ran {
  std::set<std::string> secrets;  ///< Every credential the run knew.
  std::size_t token_calls = 0;    ///< The calls the scripted token endpoint saw.
};

/// Runs the scenario `doc` under `Bundle`'s policies.
template <class Bundle>
Ran run_with(const Value& doc, std::ostream& out, bool summary) {
  using P = Policies<Bundle>;
  using Pool = CredentialPool<Provider, P>;
  Clock clock;
  auto scheduler =
      std::make_shared<Scheduler>(clock, static_cast<std::uint64_t>(number_of(doc, "seed", 1)));
  auto script = std::make_shared<Script>();
  for (const Value& r : array_of(doc, "api")) script->api.push_back(rule_of(r));
  if (const Value* t = doc.find("token_endpoint")) {
    for (const Value& r : array_of(*t, "answers")) script->token.push_back(rule_of(r));
    script->expires_in = number_of(*t, "expires_in_s", 3600);
    script->rotate = bool_of(*t, "rotate", true);
    script->token_latency = number_of(*t, "latency_s", 0);
  }
  if constexpr (std::is_same_v<Bundle, provider::Anthropic>) {
    script->access_prefix = "sk-ant-oat01-sim-";
    script->refresh_prefix = "sk-ant-ort01-sim-";
  } else if constexpr (std::is_same_v<Bundle, provider::Google>) {
    script->access_prefix = "ya29.sim-";
    script->refresh_prefix = "1//sim-";
  }
  std::vector<typename Pool::Profile> profiles;
  for (const Value& p : array_of(doc, "profiles")) {
    const std::string name = text_of(p, "name");
    const std::string kind = text_of(p, "kind", "api_key");
    const std::string token = text_of(p, "token");
    if (name.empty() || token.empty()) throw ScenarioError("a profile needs a name and a token");
    Credential credential = Credential::api_key(token);
    script->owner[token] = name;
    if (kind == "oauth") {
      const std::string refresh = text_of(p, "refresh_token").empty()
                                      ? issued(script->refresh_prefix, name, 0)
                                      : text_of(p, "refresh_token");
      script->refresh_tokens.insert(refresh);
      credential = Credential::oauth(token, refresh,
                                     clock.now() + std::chrono::seconds{static_cast<std::int64_t>(
                                                       number_of(p, "expires_in_s", 3600))});
      script->owner[refresh] = name;
      script->live_refresh[name] = refresh;
    } else if (kind != "api_key") {
      throw ScenarioError("profile '" + name + "': kind must be api_key or oauth");
    }
    profiles.push_back(
        {name, std::move(credential), static_cast<std::uint32_t>(number_of(p, "weight", 1)), {}});
  }
  if (profiles.empty()) throw ScenarioError("the scenario has no profiles");
  PoolOptions options;
  const Value none;
  const Value& tuning = doc.find("pool") != nullptr ? *doc.find("pool") : none;
  options.provider = text_of(doc, "provider", "generic");
  const std::string selection = text_of(tuning, "selection", "priority");
  if (selection == "round_robin") {
    options.selection = Selection::round_robin;
  } else if (selection == "least_recently_used") {
    options.selection = Selection::least_recently_used;
  } else if (selection == "weighted") {
    options.selection = Selection::weighted;
  } else if (selection != "priority") {
    throw ScenarioError("pool.selection: unknown strategy '" + selection + "'");
  }
  const auto ms = [&](std::string_view key, std::chrono::milliseconds fallback) {
    return std::chrono::milliseconds{
        static_cast<std::int64_t>(number_of(tuning, key, static_cast<double>(fallback.count())))};
  };
  options.sticky_for = ms("sticky_for_ms", options.sticky_for);
  options.panic_interval = ms("panic_interval_ms", options.panic_interval);
  options.steer_by_remaining = bool_of(tuning, "steer_by_remaining", true);
  options.remaining_floor = number_of(tuning, "remaining_floor", options.remaining_floor);
  options.credential.retry.max_attempts =
      static_cast<std::uint32_t>(number_of(tuning, "max_attempts", 3));
  options.credential.jitter_seed = static_cast<std::uint64_t>(number_of(doc, "seed", 1));

  typename P::Refresh strategy = [] {
    if constexpr (requires { Bundle::oauth_refresh(std::string{}, Secret{}); }) {
      return Bundle::oauth_refresh("sim-client", Secret{std::string{kClientSecret}},
                                   std::string{kTokenUrl});
    } else if constexpr (requires { Bundle::oauth_refresh(std::string{}); }) {
      return Bundle::oauth_refresh("sim-client", std::string{kTokenUrl});
    } else {
      return refresh::OAuth2RefreshToken{
          {.token_url = std::string{kTokenUrl}, .client_id = "sim-client"}};
    }
  }();
  Pool pool(Provider{script, clock, scheduler}, std::move(profiles), options,
            {.refresh = std::move(strategy),
             .clock = clock,
             .sleeper = Sleeper{clock, scheduler},
             .observer = observe::JsonLines{out, [clock] { return clock.now(); }}});

  // The schedule: requests, replacements and probes, in time order (stable for equal times).
  struct Step {
    double at;
    const Value* what;
    std::string type;
    std::size_t number = 0;  // of a request, counted from 1 in time order
  };
  std::vector<Step> steps;
  for (const Value& r : array_of(doc, "requests")) {
    const auto count = static_cast<int>(number_of(r, "count", 1));
    const double every = number_of(r, "every_s", 0);
    for (int i = 0; i < count; ++i) {
      steps.push_back({number_of(r, "at_s", 0) + every * i, &r, "request"});
    }
  }
  for (const Value& r : array_of(doc, "replace")) {
    steps.push_back({number_of(r, "at_s", 0), &r, "replace"});
  }
  // At one instant the overlapping requests come last, together: one batch.
  const auto overlaps = [](const Step& s) {
    return s.type == "request" && bool_of(*s.what, "overlap", false);
  };
  std::stable_sort(steps.begin(), steps.end(), [&](const Step& a, const Step& b) {
    return a.at < b.at || (a.at == b.at && !overlaps(a) && overlaps(b));
  });
  std::size_t number = 0;
  for (Step& step : steps) step.number = step.type == "request" ? ++number : 0;
  std::map<std::string, std::size_t> served;
  std::size_t failed = 0;
  int replacements = 0;  // OAuth replacements: their refresh tokens' serials start at 1001
  const auto serve = [&](const Step& step) {
    const Value& v = *step.what;
    const std::string model = text_of(v, "model");
    const std::string session = text_of(v, "session");
    const std::string name = text_of(v, "name");
    Request request{.method = text_of(v, "method", "POST"),
                    .url = std::string{kApiUrl},
                    .headers = {},
                    .body = "{}"};
    if (const Value* h = v.find("headers"); h != nullptr && h->as_object()) {
      for (const auto& [field, value] : *h->as_object()) {
        if (value.as_string()) request.headers.set(field, *value.as_string());
      }
    }
    if (!model.empty()) request.headers.set("x-sim-model", model);
    auto result = pool.send(request, {.model = model, .session = session});
    std::string line = "{\"at\":";
    detail::append_json_string(line, detail::format_rfc3339(clock.now()));
    line += ",\"request\":" + std::to_string(step.number);
    if (!name.empty()) {
      line += ",\"name\":";
      detail::append_json_string(line, name);
    }
    line += ",\"model\":";
    detail::append_json_string(line, model);
    line += ",\"session\":";
    detail::append_json_string(line, session);
    if (result) {
      line += ",\"outcome\":\"response\",\"status\":" + std::to_string(result->status);
      std::string who;
      {
        const std::scoped_lock lock(script->mutex);
        who = script->last_profile[std::this_thread::get_id()];
      }
      line += ",\"profile\":";
      detail::append_json_string(line, who);
      ++served["response"];
    } else {
      ++failed;
      line += ",\"outcome\":\"error\",\"code\":";
      detail::append_json_string(line, errc_identifier(result.error().code));
      line += ",\"until\":";
      if (result.error().until) {
        detail::append_json_string(line, detail::format_deadline(*result.error().until));
      } else {
        line += "null";
      }
      line += ",\"message\":";
      detail::append_json_string(line, result.error().message);
    }
    out << line << "}\n";
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    clock.advance_to(at_seconds(step.at));
    const Value& v = *step.what;
    if (overlaps(step)) {
      // A batch: every overlapping request of this instant, in flight together.
      std::vector<std::function<void()>> batch;
      for (; i < steps.size() && steps[i].at == step.at && overlaps(steps[i]); ++i) {
        batch.emplace_back([&serve, &steps, i] { serve(steps[i]); });
      }
      --i;
      scheduler->run(batch);
      continue;
    }
    if (step.type == "replace") {
      const std::string name = text_of(v, "profile");
      const std::string token = text_of(v, "token");
      Credential credential = Credential::api_key(token);
      {
        const std::scoped_lock lock(script->mutex);
        script->owner[token] = name;
        if (text_of(v, "kind") == "oauth") {
          const std::string refresh =
              text_of(v, "refresh_token").empty()
                  ? issued(script->refresh_prefix, name, 1000 + ++replacements)
                  : text_of(v, "refresh_token");
          script->owner[refresh] = name;
          script->live_refresh[name] = refresh;
          script->refresh_tokens.insert(refresh);
          credential = Credential::oauth(
              token, refresh,
              clock.now() + std::chrono::seconds{
                                static_cast<std::int64_t>(number_of(v, "expires_in_s", 3600))});
        }
      }
      auto replaced = pool.set_credential(name, std::move(credential));
      std::string line = "{\"at\":";
      detail::append_json_string(line, detail::format_rfc3339(clock.now()));
      line += ",\"replace\":";
      detail::append_json_string(line, name);
      line += std::string{",\"ok\":"} + (replaced ? "true" : "false") + "}\n";
      out << line;
      continue;
    }
    serve(step);
  }
  out << "{\"status\":" << to_json(pool.status()) << "}\n";
  if (summary) {
    out << "\nrequests: " << number << ", responses: " << served["response"]
        << ", errors: " << failed << ", token calls: " << script->token_calls << "\n";
    for (const ProfileStatus& p : pool.status().profiles) {
      out << "  " << p.credential.profile << ": " << to_string(p.credential.state)
          << (p.credential.reason ? " (" + std::string{to_string(*p.credential.reason)} + ")" : "")
          << ", generation " << p.credential.generation << "\n";
    }
  }
  const std::scoped_lock lock(script->mutex);
  Ran ran{script->refresh_tokens, script->token_calls};
  ran.secrets.emplace(kClientSecret);
  for (const auto& [token, owner] : script->owner) ran.secrets.insert(token);
  return ran;
}

inline std::vector<std::string> run(std::string_view scenario, std::ostream& out, bool summary) {
  const auto doc = detail::json::parse(scenario);
  if (!doc || !doc->is_object()) throw MalformedScenario("the scenario is not a JSON object");
  if (doc->find("instances") != nullptr) return fleet::run(*doc, scenario, out, summary);
  validate(*doc, scenario);
  const std::string provider = text_of(*doc, "provider", "generic");
  std::ostringstream lines;
  Ran ran;
  if (provider == "anthropic") {
    ran = run_with<provider::Anthropic>(*doc, lines, summary);
  } else if (provider == "openai") {
    ran = run_with<provider::OpenAI>(*doc, lines, summary);
  } else if (provider == "google") {
    ran = run_with<provider::Google>(*doc, lines, summary);
  } else if (provider == "rfc6750") {
    ran = run_with<provider::Rfc6750>(*doc, lines, summary);
  } else if (provider == "generic") {
    ran = run_with<DefaultPolicies>(*doc, lines, summary);
  } else {
    throw ScenarioError("provider must be anthropic, openai, google, rfc6750 or generic, not '" +
                        provider + "'");
  }
  out << lines.str();
  const Value* expect = doc->find("expect");
  return expect != nullptr ? check(*expect, lines.str(), ran.secrets, ran.token_calls)
                           : std::vector<std::string>{};
}

}  // namespace keyward::cli::sim
