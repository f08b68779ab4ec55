// A scenario's checks for `keyward simulate` (docs/simulate.md): the reading that refuses unknown
// keys and bad values, naming the path and line, and the `expect` block checked after the run.
//
// Why this file is over 300 lines: the reader and the checker share one vocabulary (the keys of
// the expect block, the event kinds, states and error codes); none of it is library code.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/detail/json.hpp"
#include "keyward/error.hpp"
#include "keyward/observer.hpp"
#include "keyward/status.hpp"

namespace keyward::cli::sim {

/// A scenario that cannot be run; the message names the field.
struct ScenarioError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A scenario that is not a JSON object at all.
struct MalformedScenario : ScenarioError {
  using ScenarioError::ScenarioError;
};

namespace expect_detail {

using detail::json::Type;
using detail::json::Value;

/// What a key of the scenario holds: its type, and for numbers the least value.
struct Field {
  std::string_view name;
  Type type;
  double min = -1e300;
};

inline std::string_view type_name(Type type) {
  switch (type) {
    case Type::null:
      return "null";
    case Type::boolean:
      return "true or false";
    case Type::number:
      return "a number";
    case Type::string:
      return "a string";
    case Type::array:
      return "an array";
    case Type::object:
      return "an object";
  }
  return "a value";
}

/// Reads the scenario `text` and refuses, naming the path and line, what it would not use.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const Value& at, const std::string& path, const std::string& what) const {
    std::string where = path;
    const std::string_view source = at.member_source(text_);
    if (!source.empty()) {
      const auto offset = static_cast<std::size_t>(source.data() - text_.data());
      const auto line = 1 + std::count(text_.begin(), text_.begin() + offset, '\n');
      where = "line " + std::to_string(line) + ": " + path;
    }
    throw ScenarioError(where + ": " + what);
  }

  void type(const Value& v, const std::string& path, Type want) const {
    if (v.type() != want) fail(v, path, "must be " + std::string{type_name(want)});
  }

  void object(const Value& v, const std::string& path, std::initializer_list<Field> fields) const {
    type(v, path, Type::object);
    for (const auto& [name, member] : *v.as_object()) {
      const std::string at = path.empty() ? name : path + "." + name;
      const Field* field = nullptr;
      for (const Field& f : fields) field = f.name == name ? &f : field;
      if (field == nullptr) {
        std::string known;
        for (const Field& f : fields) known += (known.empty() ? "" : ", ") + std::string{f.name};
        fail(member, at, "unknown key (known here: " + known + ")");
      }
      type(member, at, field->type);
      if (member.is_number() && *member.as_number() < field->min) {
        fail(member, at, "must be at least " + std::to_string(static_cast<long long>(field->min)));
      }
    }
  }

  template <class Each>
  void array(const Value& v, const std::string& path, Each each) const {
    if (v.is_null()) return;
    type(v, path, Type::array);
    for (std::size_t i = 0; i < v.as_array()->size(); ++i) {
      each((*v.as_array())[i], path + "[" + std::to_string(i) + "]");
    }
  }

  void one_of(const Value& v, const std::string& path, const std::set<std::string>& allowed) const {
    if (v.as_string() != nullptr && allowed.contains(*v.as_string())) return;
    std::string known;
    for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
    fail(v, path, "must be one of " + known);
  }

 private:
  std::string_view text_;
};

inline const Value& member(const Value& v, std::string_view key) {
  static const Value kNull;
  const Value* m = v.find(key);
  return m != nullptr ? *m : kNull;
}

inline std::set<std::string> event_kinds() {
  std::set<std::string> out;
  for (int i = 0; i < 64 && to_string(static_cast<EventKind>(i)) != "unknown"; ++i) {
    out.emplace(to_string(static_cast<EventKind>(i)));
  }
  return out;
}

inline std::set<std::string> errc_names() {
  std::set<std::string> out;
  for (int i = 1; i < 64 && to_string(static_cast<Errc>(i)) != "unknown"; ++i) {
    out.emplace(to_string(static_cast<Errc>(i)));
  }
  return out;
}

inline const std::set<std::string>& never_rules() {
  static const std::set<std::string> kRules{"attempt_in_cooldown", "secret_in_output"};
  return kRules;
}

}  // namespace expect_detail

/// Refuses a scenario (`doc`, read from `text`) with a key it does not know or a value of the
/// wrong type or range; the message names the JSON path and its line.
inline void validate(const detail::json::Value& doc, std::string_view text) {
  using detail::json::Type;
  using detail::json::Value;
  using expect_detail::Field;
  using expect_detail::member;
  const expect_detail::Reader r(text);
  constexpr auto N = Type::number;
  constexpr auto S = Type::string;
  r.object(doc, "",
           {{"description", S},
            {"provider", S},
            {"pool", Type::object},
            {"profiles", Type::array},
            {"api", Type::array},
            {"token_endpoint", Type::object},
            {"requests", Type::array},
            {"replace", Type::array},
            {"seed", N, 0},
            {"expect", Type::object}});
  if (const Value* p = doc.find("provider"))
    r.one_of(*p, "provider", {"anthropic", "openai", "google", "rfc6750", "generic"});
  if (const Value* pool = doc.find("pool")) {
    r.object(*pool, "pool",
             {{"selection", S},
              {"sticky_for_ms", N, 0},
              {"panic_interval_ms", N, 0},
              {"steer_by_remaining", Type::boolean},
              {"remaining_floor", N, 0},
              {"max_attempts", N, 1}});
    if (const Value* s = pool->find("selection")) {
      r.one_of(*s, "pool.selection",
               {"priority", "round_robin", "least_recently_used", "weighted"});
    }
  }
  r.array(member(doc, "profiles"), "profiles", [&](const Value& p, const std::string& at) {
    r.object(p, at,
             {{"name", S},
              {"kind", S},
              {"token", S},
              {"weight", N, 1},
              {"expires_in_s", N},
              {"refresh_token", S}});
    if (const Value* kind = p.find("kind")) r.one_of(*kind, at + ".kind", {"api_key", "oauth"});
  });
  const auto rule = [&](const Value& v, const std::string& at) {
    r.object(v, at,
             {{"from_s", N, 0},
              {"to_s", N, 0},
              {"profile", S},
              {"token", S},
              {"model", S},
              {"status", N, 100},
              {"headers", Type::object},
              {"body", S},
              {"fail", S},
              {"latency_s", N, 0},
              {"times", N, 1}});
    if (const Value* fail = v.find("fail")) {
      r.one_of(*fail, at + ".fail", {"connect", "timeout", "tls", "protocol", "other"});
    }
    if (const Value* status = v.find("status"); status != nullptr && *status->as_number() > 599) {
      r.fail(*status, at + ".status", "must be an HTTP status, 100 to 599");
    }
    if (const Value* headers = v.find("headers")) {
      for (const auto& [name, value] : *headers->as_object()) {
        r.type(value, at + ".headers." + name, S);
      }
    }
  };
  r.array(member(doc, "api"), "api", rule);
  if (const Value* t = doc.find("token_endpoint")) {
    r.object(*t, "token_endpoint",
             {{"answers", Type::array},
              {"expires_in_s", N, 0},
              {"rotate", Type::boolean},
              {"latency_s", N, 0}});
    r.array(member(*t, "answers"), "token_endpoint.answers", rule);
  }
  r.array(member(doc, "requests"), "requests", [&](const Value& v, const std::string& at) {
    r.object(v, at,
             {{"at_s", N, 0},
              {"count", N, 1},
              {"every_s", N, 0},
              {"session", S},
              {"model", S},
              {"name", S},
              {"method", S},
              {"headers", Type::object},
              {"overlap", Type::boolean}});
    if (const Value* method = v.find("method")) {
      r.one_of(*method, at + ".method",
               {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "POST", "PATCH"});
    }
    if (const Value* headers = v.find("headers")) {
      for (const auto& [name, value] : *headers->as_object()) {
        r.type(value, at + ".headers." + name, S);
      }
    }
  });
  r.array(member(doc, "replace"), "replace", [&](const Value& v, const std::string& at) {
    r.object(v, at,
             {{"at_s", N, 0},
              {"profile", S},
              {"token", S},
              {"kind", S},
              {"refresh_token", S},
              {"expires_in_s", N}});
    if (const Value* kind = v.find("kind")) r.one_of(*kind, at + ".kind", {"api_key", "oauth"});
  });
  const Value* expect = doc.find("expect");
  if (expect == nullptr) return;
  r.object(*expect, "expect",
           {{"events", Type::object},
            {"token_calls", N, 0},
            {"final", Type::object},
            {"requests", Type::object},
            {"never", Type::array}});
  const auto kinds = expect_detail::event_kinds();
  for (const auto& [kind, count] : member(*expect, "events").is_object()
                                       ? *member(*expect, "events").as_object()
                                       : std::vector<std::pair<std::string, Value>>{}) {
    const std::string at = "expect.events." + kind;
    if (!kinds.contains(kind)) r.fail(count, at, "not an event kind (docs/pool.md lists them)");
    if (count.is_object()) {
      for (const auto& [profile, n] : *count.as_object()) r.type(n, at + "." + profile, N);
    } else {
      r.type(count, at, N);
    }
  }
  if (const Value* final = expect->find("final")) {
    std::set<std::string> states;
    for (int i = 0; i < 8 && to_string(static_cast<CredentialState>(i)) != "unknown"; ++i) {
      states.emplace(to_string(static_cast<CredentialState>(i)));
    }
    for (const auto& [profile, state] : *final->as_object()) {
      r.one_of(state, "expect.final." + profile, states);
    }
  }
  if (const Value* requests = expect->find("requests")) {
    for (const auto& [name, want] : *requests->as_object()) {
      const std::string at = "expect.requests." + name;
      r.object(want, at, {{"outcome", S}, {"status", N, 100}, {"code", S}, {"profile", S}});
      if (const Value* o = want.find("outcome"))
        r.one_of(*o, at + ".outcome", {"response", "error"});
      if (const Value* c = want.find("code"))
        r.one_of(*c, at + ".code", expect_detail::errc_names());
    }
  }
  r.array(member(*expect, "never"), "expect.never", [&](const Value& v, const std::string& at) {
    r.one_of(v, at, expect_detail::never_rules());
  });
}

/// Checks the `expect` block against `output`, the run's JSON lines (other lines are skipped);
/// `secrets` are every credential the run knew, `token_calls` the calls the scripted token
/// endpoint saw. Returns one line per failed expectation, "expect.PATH: expected X, got Y";
/// empty when every expectation holds.
inline std::vector<std::string> check(const detail::json::Value& expect, std::string_view output,
                                      const std::set<std::string>& secrets,
                                      std::size_t token_calls = 0) {
  using detail::json::Value;
  std::vector<Value> lines;
  std::istringstream in{std::string{output}};
  for (std::string line; std::getline(in, line);) {
    if (auto v = line.starts_with('{') ? detail::json::parse(line) : std::nullopt) {
      lines.push_back(std::move(*v));
    }
  }
  std::vector<std::string> failed;
  const auto differ = [&](const std::string& path, const std::string& want,
                          const std::string& got) {
    if (want != got) failed.push_back("expect." + path + ": expected " + want + ", got " + got);
  };
  // Built by appends: g++ 12 at -O2 warns (-Wrestrict, a false positive) on "\"" + std::string.
  const auto quoted = [](std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q.push_back('"');
    q.append(s);
    q.push_back('"');
    return q;
  };
  const auto count = [&](std::string_view kind, const std::string* profile) {
    std::size_t n = 0;
    for (const Value& v : lines) {
      n +=
          v.string_or("event") == kind && (profile == nullptr || v.string_or("profile") == *profile)
              ? 1U
              : 0U;
    }
    return std::to_string(n);
  };
  const auto number = [](const Value& v) {
    return std::to_string(std::llround(v.as_number().value_or(-1)));
  };
  if (const Value* events = expect.find("events")) {
    for (const auto& [kind, want] : *events->as_object()) {
      if (!want.is_object()) {
        differ("events." + kind, number(want), count(kind, nullptr));
        continue;
      }
      for (const auto& [profile, n] : *want.as_object()) {
        differ("events." + kind + "." + profile, number(n), count(kind, &profile));
      }
    }
  }
  if (const Value* calls = expect.find("token_calls")) {
    differ("token_calls", number(*calls), std::to_string(token_calls));
  }
  if (const Value* final = expect.find("final")) {
    const Value* status = lines.empty() ? nullptr : lines.back().find("status");
    for (const auto& [profile, state] : *final->as_object()) {
      std::string got = "no such profile";
      for (const Value& p : status != nullptr && status->find("profiles") != nullptr &&
                                    status->find("profiles")->as_array() != nullptr
                                ? *status->find("profiles")->as_array()
                                : std::vector<Value>{}) {
        const Value& c = expect_detail::member(p, "credential");
        if (c.string_or("profile") == profile) got = quoted(c.string_or("state"));
      }
      differ("final." + profile, quoted(*state.as_string()), got);
    }
  }
  if (const Value* requests = expect.find("requests")) {
    std::size_t total = 0;
    for (const Value& v : lines) total += v.find("request") != nullptr ? 1U : 0U;
    for (const auto& [name, want] : *requests->as_object()) {
      std::vector<const Value*> matched;
      for (const Value& v : lines) {
        const Value* n = v.find("request");
        if (n != nullptr && (v.string_or("name") == name || number(*n) == name)) {
          matched.push_back(&v);
        }
      }
      if (matched.empty()) {
        differ("requests." + name, "a request " + name, std::to_string(total) + " requests");
      }
      for (const Value* got : matched) {
        for (const auto& [key, value] : *want.as_object()) {
          const Value& g = expect_detail::member(*got, key);
          differ("requests." + name + "." + key,
                 value.is_number() ? number(value) : quoted(*value.as_string()),
                 g.is_number()   ? number(g)
                 : g.is_string() ? quoted(*g.as_string())
                                 : std::string{"nothing"});
        }
      }
    }
  }
  for (const Value& rule : expect_detail::member(expect, "never").is_array()
                               ? *expect_detail::member(expect, "never").as_array()
                               : std::vector<Value>{}) {
    if (*rule.as_string() == "secret_in_output") {
      std::size_t n = 0;
      for (const std::string& secret : secrets) {
        n += !secret.empty() && output.find(secret) != std::string_view::npos ? 1U : 0U;
      }
      if (n != 0) {
        differ("never.secret_in_output", "no secret in any output line",
               std::to_string(n) + " of the run's credentials in the output");
      }
    } else if (*rule.as_string() == "attempt_in_cooldown") {
      // A profile's window runs from cooldown_entered to its until; cooldown_left, a
      // replacement or a panic probe (the documented exception) ends it.
      std::map<std::string, std::string> until;
      for (const Value& v : lines) {
        const std::string profile{v.string_or("profile")};
        const std::string_view kind = v.string_or("event");
        if (kind == "cooldown_entered") {
          until[profile] = v.string_or("until");
        } else if (kind == "cooldown_left" || kind == "credential_replaced" || kind == "panic") {
          until.erase(profile);
        } else if (kind == "attempt" && until.contains(profile) &&
                   v.string_or("at") < until[profile]) {
          differ("never.attempt_in_cooldown", "no attempt on a profile inside its cooldown",
                 "profile '" + profile + "' at " + std::string{v.string_or("at")} +
                     " (cooling until " + until[profile] + ")");
          until.erase(profile);
        }
      }
    }
  }
  return failed;
}

}  // namespace keyward::cli::sim
