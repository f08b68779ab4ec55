// PoolStatus, what CredentialPool::status() returns: every profile's Status, its per-model
// windows, its last remaining-quota reading, and whether it can serve; as a struct and as JSON
// in status.hpp's style.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keyward/detail/text.hpp"
#include "keyward/pool/selection.hpp"
#include "keyward/status.hpp"

namespace keyward {

/// A rate-limit window of one model on one profile.
struct ModelWindowStatus {
  std::string model;           ///< The model.
  TimePoint since{};           ///< When the window opened.
  TimePoint until{};           ///< When it ends.
  std::uint32_t failures = 0;  ///< Consecutive rate limits of this model.
};

/// One profile of a pool.
struct ProfileStatus {
  Status credential;                                ///< The credential's own status.
  std::uint32_t weight = 1;                         ///< Its weight, for weighted selection.
  bool usable = false;                              ///< True when it can serve a request now.
  std::optional<std::uint32_t> remaining_permille;  ///< Last stated quota left, in thousandths.
  std::vector<ModelWindowStatus> models;            ///< Models cooling on this profile.
};

/// A point-in-time description of a pool, free of secrets.
struct PoolStatus {
  std::string provider;                       ///< The provider's name.
  Selection selection = Selection::priority;  ///< The selection strategy.
  std::size_t usable = 0;                     ///< How many profiles can serve now.
  std::optional<TimePoint> soonest;           ///< When none can: the soonest one could.
  std::vector<ProfileStatus> profiles;        ///< Every profile, in the pool's order.
};

/// Renders a PoolStatus as one JSON object; each profile's credential as to_json(Status).
[[nodiscard]] inline std::string to_json(const PoolStatus& status) {
  // A deadline (`soonest`, `until`) is rounded up to the second, a time past is cut.
  const auto time = [](std::string& out, const std::optional<TimePoint>& t, bool deadline = true) {
    if (t) {
      detail::append_json_string(
          out, deadline ? detail::format_deadline(*t) : detail::format_rfc3339(*t));
    } else {
      out += "null";
    }
  };
  std::string out = "{\"provider\":";
  detail::append_json_string(out, status.provider);
  out += ",\"selection\":";
  detail::append_json_string(out, to_string(status.selection));
  out += ",\"usable\":" + std::to_string(status.usable);
  out += ",\"soonest\":";
  time(out, status.soonest);
  out += ",\"profiles\":[";
  bool first = true;
  for (const ProfileStatus& p : status.profiles) {
    out += first ? "" : ",";
    first = false;
    out += "{\"credential\":" + to_json(p.credential);
    out += ",\"weight\":" + std::to_string(p.weight);
    out += ",\"usable\":";
    out += p.usable ? "true" : "false";
    out += ",\"remaining_permille\":";
    out += p.remaining_permille ? std::to_string(*p.remaining_permille) : "null";
    out += ",\"models\":[";
    bool first_model = true;
    for (const ModelWindowStatus& m : p.models) {
      out += first_model ? "{\"model\":" : ",{\"model\":";
      first_model = false;
      detail::append_json_string(out, m.model);
      out += ",\"since\":";
      time(out, m.since, false);
      out += ",\"until\":";
      time(out, m.until);
      out += ",\"failures\":" + std::to_string(m.failures) + "}";
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

}  // namespace keyward
