// The ways to read a shared credential that the benchmarks compare, behind one interface:
// read(header) does what a request does with the credential, reading the current token and
// state and writing `Bearer <token>` into the caller's reused buffer; publish() installs a new
// one. keyward's own design is KeywardDesign; the others are the baselines of
// docs/design/hot-path.md, measured in the same binary so every figure is a ratio.
#pragma once

#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bodies.hpp"
#include "keyward/keyward.hpp"

namespace keyward::bench {

/// A transport that answers 200 at once with a canned body, to measure what keyward adds around
/// it. It builds its Response per call, as a real one would: that cost is the transport's, the
/// same with keyward and without.
struct NullTransport {
  const Canned* canned = canned_responses().data();  // empty

  TransportResult send(const Request& /*request*/) const {
    Response response{.status = 200};
    if (!canned->content_type.empty()) response.headers.add("content-type", canned->content_type);
    response.body = canned->body;
    return response;
  }
};

/// A ~100-byte token snapshot, as the baselines publish it.
struct Snapshot {
  std::string token;
  CredentialState state = CredentialState::ready;
  std::uint64_t generation = 0;
};

inline std::string token_for(std::uint64_t generation) {
  return "sk-ant-oat01-" + std::string(48, 'x') + "-" + std::to_string(generation) + "-abcd";
}

/// The request of every send benchmark: `POST https://api.anthropic.com/v1/messages`, built out
/// of line so that each case pays the very same instructions for it (inlined, g++ built the URL
/// through an out-of-line strlen constructor in one loop and with its length known in another,
/// some 100 instructions apart), with the URL's length known, as a careful client builds it.
[[gnu::noinline]] inline Request post_request() {
  constexpr std::string_view kUrl = "https://api.anthropic.com/v1/messages";
  return Request{.method = "POST", .url = std::string{kUrl}};
}

/// A pool of `profiles` API keys over NullTransport, choosing by `selection`: the pool's send()
/// measured against ResilientCredential's on the same canned answers.
inline std::unique_ptr<CredentialPool<NullTransport>> make_send_pool(std::size_t profiles,
                                                                     Selection selection,
                                                                     const Canned* canned) {
  using Pool = CredentialPool<NullTransport>;
  std::vector<Pool::Profile> members;
  for (std::size_t i = 0; i < profiles; ++i) {
    members.push_back({"p" + std::to_string(i), Credential::api_key(token_for(i)), 1, {}});
  }
  PoolOptions options;
  options.selection = selection;
  return std::make_unique<Pool>(NullTransport{canned}, std::move(members), options);
}

/// What a request does with the credential it read: the state read, `Bearer <token>` written
/// into the thread's reused buffer (cleared, so it allocates only the first time). Out of line,
/// so that every design and every loop runs the very same instructions for it: inlined, the
/// compiler turns the append into a store in some loops and a call in others.
[[gnu::noinline, gnu::flatten]] inline void use(std::string& header, std::string_view token,
                                                CredentialState state) {
  benchmark::DoNotOptimize(state);
  header.clear();
  header.append("Bearer ");
  header.append(token);
  benchmark::DoNotOptimize(header);
}

/// The physical floor: one atomic pointer load; old snapshots are never reclaimed.
class FloorDesign {
 public:
  FloorDesign() { publish(); }
  void read(std::string& header) const {
    const Snapshot* s = current_.load(std::memory_order_acquire);
    use(header, s->token, s->state);
  }
  void publish() {
    const std::scoped_lock lock(mutex_);
    all_.push_back(std::make_unique<Snapshot>(Snapshot{token_for(all_.size()), {}, all_.size()}));
    current_.store(all_.back().get(), std::memory_order_release);
  }

 private:
  std::atomic<const Snapshot*> current_{nullptr};
  std::mutex mutex_;
  std::vector<std::unique_ptr<Snapshot>> all_;
};

/// std::mutex and a shared_ptr copy (golang/oauth2, google-cloud-cpp).
class MutexDesign {
 public:
  void read(std::string& header) const {
    std::shared_ptr<const Snapshot> s;
    {
      const std::scoped_lock lock(mutex_);
      s = current_;
    }
    use(header, s->token, s->state);
  }
  void publish() {
    auto next = std::make_shared<const Snapshot>(Snapshot{token_for(++n_), {}, n_});
    const std::scoped_lock lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::uint64_t n_ = 0;
  std::shared_ptr<const Snapshot> current_ =
      std::make_shared<const Snapshot>(Snapshot{token_for(0), {}, 0});
};

/// std::shared_mutex with a shared lock for readers and a shared_ptr copy.
class SharedMutexDesign {
 public:
  void read(std::string& header) const {
    std::shared_ptr<const Snapshot> s;
    {
      const std::shared_lock lock(mutex_);
      s = current_;
    }
    use(header, s->token, s->state);
  }
  void publish() {
    auto next = std::make_shared<const Snapshot>(Snapshot{token_for(++n_), {}, n_});
    const std::unique_lock lock(mutex_);
    current_ = std::move(next);
  }

 private:
  mutable std::shared_mutex mutex_;
  std::uint64_t n_ = 0;
  std::shared_ptr<const Snapshot> current_ =
      std::make_shared<const Snapshot>(Snapshot{token_for(0), {}, 0});
};

/// std::atomic<std::shared_ptr> (in libstdc++ 12, a lock bit inside the control word).
class AtomicSharedPtrDesign {
 public:
  void read(std::string& header) const {
    const std::shared_ptr<const Snapshot> s = current_.load(std::memory_order_acquire);
    use(header, s->token, s->state);
  }
  void publish() {
    current_.store(std::make_shared<const Snapshot>(Snapshot{token_for(++n_), {}, n_}),
                   std::memory_order_release);
  }

 private:
  std::uint64_t n_ = 0;
  std::atomic<std::shared_ptr<const Snapshot>> current_{
      std::make_shared<const Snapshot>(Snapshot{token_for(0), {}, 0})};
};

/// keyward: ResilientCredential::with_current().
class KeywardDesign {
 public:
  void read(std::string& header) const {
    credential_.with_current(
        [&header](const auto& current) { use(header, current.token, current.state); });
  }
  void publish() {
    static_cast<void>(credential_.set_credential(Credential::api_key(token_for(++n_))));
  }
  ResilientCredential<NullTransport>& credential() { return credential_; }

 private:
  std::uint64_t n_ = 0;
  ResilientCredential<NullTransport> credential_{NullTransport{},
                                                 Credential::api_key(token_for(0))};
};

}  // namespace keyward::bench
