// The credentials file (store::File): what a refresh's persist costs, which is the window in
// which a crash after the token endpoint rotated a refresh token loses the new one
// (docs/credentials-file.md, "Interrupted refreshes"), and what a re-read costs.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "keyward/store/file.hpp"

namespace keyward::bench {
namespace {

namespace fs = std::filesystem;

// A temporary folder with a credentials file of three profiles, as a user's would be.
class TempFile {
 public:
  TempFile() {
    std::string pattern = (fs::temp_directory_path() / "keyward-store-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    dir_ = pattern;
    std::ofstream{path()} << R"({"version": 1, "profiles": {
      "anthropic:work": {"type": "oauth", "provider": "anthropic", "email": "dev@example.com",
        "access": "sk-ant-oat01-ACCESSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1111",
        "refresh": "sk-ant-ort01-REFRESHrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr2222",
        "expires": 1767225600000},
      "openai:ci": {"type": "api_key", "provider": "openai", "key": "sk-proj-KEYkkkkkkkkkkkkkkkkkkkkkkkk"},
      "google:ops": {"type": "token", "provider": "google", "token": "ya29.tokentokentokentokentoken"}},
      "usageStats": {"anthropic:work": {"lastUsed": 1767225000000, "errorCount": 0}}})";
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { fs::remove_all(dir_); }
  [[nodiscard]] std::string path() const { return (dir_ / "auth-profiles.json").string(); }

 private:
  fs::path dir_;
};

// A rotation's persist: lock, re-read, compare, write a new file, fsync it, rename, fsync the
// folder.
void BM_FileStore_PersistRotation(benchmark::State& state) {
  const TempFile file;
  store::File store{file.path(), "anthropic:work"};
  std::uint64_t generation = store.load()->generation;
  const Credential next[2] = {
      Credential::oauth("sk-ant-oat01-NEWACCESSnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn3333",
                        "sk-ant-ort01-NEWREFRESHnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn4444",
                        std::nullopt),
      Credential::oauth("sk-ant-oat01-OLDACCESSnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn5555",
                        "sk-ant-ort01-OLDREFRESHnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn6666",
                        std::nullopt)};
  for (auto _ : state) {
    auto written = store.compare_and_swap(generation, next[generation % 2]);
    if (!written) {
      state.SkipWithError(written.error().message.c_str());
      break;
    }
    generation = *written;
  }
}

// A re-read, as a process that waited for the lease does before it adopts the new credential.
void BM_FileStore_Load(benchmark::State& state) {
  const TempFile file;
  const store::File store{file.path(), "anthropic:work"};
  for (auto _ : state) {
    auto stored = store.load();
    benchmark::DoNotOptimize(stored);
  }
}

BENCHMARK(BM_FileStore_PersistRotation)->UseRealTime()->Threads(1);
BENCHMARK(BM_FileStore_Load)->UseRealTime()->Threads(1);

}  // namespace
}  // namespace keyward::bench
