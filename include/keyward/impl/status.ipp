// Definitions for keyward/status.hpp: included by it when header-only, compiled once by
// keyward/impl/src.hpp with KEYWARD_SEPARATE_COMPILATION (keyward/detail/config.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "keyward/detail/text.hpp"
#include "keyward/status.hpp"

namespace keyward {

KEYWARD_DECL std::string to_json(const Status& status) {
  std::string out = "{\"profile\":";
  detail::append_json_string(out, status.profile);
  out += ",\"state\":";
  detail::append_json_string(out, to_string(status.state));
  out += ",\"reason\":";
  if (status.reason) {
    detail::append_json_string(out, to_string(*status.reason));
  } else {
    out += "null";
  }
  // A deadline ("until") is rounded up to the second, a time past is cut.
  const auto time_field = [&out](std::string_view name, const std::optional<TimePoint>& time,
                                 bool deadline = false) {
    out += ",\"";
    out += name;
    out += "\":";
    if (time) {
      detail::append_json_string(
          out, deadline ? detail::format_deadline(*time) : detail::format_rfc3339(*time));
    } else {
      out += "null";
    }
  };
  time_field("since", status.since);
  time_field("until", status.until, true);
  out += ",\"consecutive_failures\":" + std::to_string(status.consecutive_failures);
  out += ",\"fingerprint\":";
  detail::append_json_string(out, status.fingerprint);
  out += ",\"generation\":" + std::to_string(status.generation);
  time_field("expires_at", status.expires_at);
  time_field("last_refresh", status.last_refresh);
  out += ",\"refresh_failures\":" + std::to_string(status.refresh_failures);
  out += ",\"last_error\":";
  detail::append_json_string(out, status.last_error);
  out += ",\"refresh_error\":";
  detail::append_json_string(out, status.refresh_error);
  time_field("reauth_by", status.reauth_by);
  out += ",\"rotation_unpersisted\":";
  out += status.rotation_unpersisted ? "true" : "false";
  out += '}';
  return out;
}

}  // namespace keyward
