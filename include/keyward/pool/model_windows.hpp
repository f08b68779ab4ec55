// The rate-limit windows of one profile for single models (docs/pool.md, "Scopes"): a 429 for a
// request that named a model cools only (profile, model), so the profile keeps serving its other
// models. The window rule is the credential's: a window never shrinks, a failure during it
// counts nothing, a server-stated wait that ends later extends it; when it ends one request
// probes the model; a window belongs to the generation it was opened for, and a newer credential
// ignores it.
//
// A profile with no window open costs one relaxed load; the windows themselves sit behind a
// mutex, taken only while some model of this profile is cooling.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/classifier.hpp"
#include "keyward/detail/time.hpp"

namespace keyward::detail {

/// One profile's per-model rate-limit windows.
class ModelWindows {
 public:
  /// One model's window.
  struct Window {
    std::string model;           ///< The model.
    std::uint64_t generation;    ///< The credential generation it was opened for.
    TimePoint since;             ///< When it opened.
    TimePoint until;             ///< When it ends.
    std::uint32_t failures = 0;  ///< Consecutive rate limits of this model.
    std::uint64_t probe = 0;     ///< The probe testing the model after the window, 0 when none.
  };

  /// claim()'s answer: the model is free, its window runs (or another request probes it), or
  /// this request probes it.
  struct Claim {
    bool out = false;         ///< Not now: the window runs or another request probes it.
    std::uint64_t probe = 0;  ///< This request's probe, 0 when the model is free.
  };

  /// When `model`'s window for `generation` ends, if it runs at `now` or its probe is out.
  [[nodiscard]] std::optional<TimePoint> out_until(std::string_view model, std::uint64_t generation,
                                                   TimePoint now) const {
    if (model.empty() || open_.load(std::memory_order_acquire) == 0) return std::nullopt;
    const std::scoped_lock lock(mutex_);
    for (const Window& w : windows_) {
      if (w.model == model && w.generation == generation && (now < w.until || w.probe != 0)) {
        return w.until;
      }
    }
    return std::nullopt;
  }

  /// Before sending a request for `model`: once its window is over (or at once when `force`,
  /// the panic rule), one request probes it and the others wait for the probe's answer (a
  /// success clears the window, a 429 opens the next).
  [[nodiscard]] Claim claim(std::string_view model, std::uint64_t generation, TimePoint now,
                            bool force = false) {
    if (model.empty() || open_.load(std::memory_order_acquire) == 0) return {};
    const std::scoped_lock lock(mutex_);
    for (Window& w : windows_) {
      if (w.model != model || w.generation != generation) continue;
      if (w.probe != 0 || (now < w.until && !force)) return {true, 0};
      w.probe = ++probes_;
      return {false, w.probe};
    }
    return {};
  }

  /// Hands probe `probe` of `model` back undecided (a provider-scoped failure, an exception):
  /// the next request probes again.
  void release(std::string_view model, std::uint64_t probe) noexcept {
    const std::scoped_lock lock(mutex_);
    for (Window& w : windows_) {
      if (w.model == model && w.probe == probe) w.probe = 0;
    }
  }

  /// Records a rate limit of `model` for `generation`; `window(failures)` is the cooldown
  /// policy's window for the n-th one. Returns the window's end when it opened or moved.
  template <class WindowFor>
  std::optional<TimePoint> record(std::string_view model, std::uint64_t generation,
                                  const Verdict& verdict, TimePoint now, WindowFor&& window) {
    const std::scoped_lock lock(mutex_);
    std::erase_if(windows_, [generation](const Window& w) { return w.generation != generation; });
    auto it = std::find_if(windows_.begin(), windows_.end(),
                           [model](const Window& w) { return w.model == model; });
    if (it != windows_.end() && now < it->until && it->probe == 0) {
      // Running: only a server-stated wait that ends later moves it.
      if (!verdict.retry_after) return std::nullopt;
      const TimePoint stated = saturating_add(now, *verdict.retry_after);
      if (stated <= it->until) return std::nullopt;
      it->until = stated;
      return stated;
    }
    const std::uint32_t failures = it != windows_.end() ? it->failures + 1 : 1U;
    const auto length = std::max(window(failures), std::chrono::milliseconds::zero());
    const TimePoint until = saturating_add(now, length);
    if (it != windows_.end()) {
      *it = Window{std::string{model}, generation, now, until, failures, 0};
    } else {
      windows_.push_back(Window{std::string{model}, generation, now, until, failures, 0});
    }
    open_.store(windows_.size(), std::memory_order_release);
    return until;
  }

  /// A success for `model`: its window and count are gone. Returns true when one was open.
  bool clear(std::string_view model) {
    if (model.empty() || open_.load(std::memory_order_acquire) == 0) return false;
    const std::scoped_lock lock(mutex_);
    const auto erased =
        std::erase_if(windows_, [model](const Window& w) { return w.model == model; });
    open_.store(windows_.size(), std::memory_order_release);
    return erased != 0;
  }

  /// A new credential: every window of the old one is gone.
  void clear_all() {
    const std::scoped_lock lock(mutex_);
    windows_.clear();
    open_.store(0, std::memory_order_release);
  }

  /// The windows of `generation` running at `now`.
  [[nodiscard]] std::vector<Window> running(std::uint64_t generation, TimePoint now) const {
    std::vector<Window> out;
    if (open_.load(std::memory_order_acquire) == 0) return out;
    const std::scoped_lock lock(mutex_);
    for (const Window& w : windows_) {
      if (w.generation == generation && now < w.until) out.push_back(w);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Window> windows_;
  std::uint64_t probes_ = 0;          // probe ids handed out, under mutex_
  std::atomic<std::size_t> open_{0};  // windows_.size(), read without the lock
};

}  // namespace keyward::detail
