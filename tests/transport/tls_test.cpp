// TLS is verified by both transports: a server whose certificate no trusted CA signed is refused
// (a tls failure), and the same server is accepted once its CA is configured
// (HttpOptions::ca_file). The certificate is made here, for 127.0.0.1, and served by a
// cpp-httplib SSLServer on 127.0.0.1.
#ifdef KEYWARD_TEST_HTTPLIB

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "support/transports.hpp"

namespace keyward::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct X509Free {
  void operator()(X509* cert) const noexcept { X509_free(cert); }
};

// A self-signed certificate for 127.0.0.1 (its own CA), valid for an hour.
struct SelfSigned {
  std::unique_ptr<EVP_PKEY, PkeyFree> key{EVP_RSA_gen(2048)};
  std::unique_ptr<X509, X509Free> cert{X509_new()};

  SelfSigned() {
    X509* x = cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key.get());
    X509_NAME* name = X509_get_subject_name(x);
    const std::string cn = "127.0.0.1";
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                     std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
      X509_add_ext(x, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(x, key.get(), EVP_sha256());
  }

  // Writes the certificate as PEM to `path`.
  void write_pem(const std::filesystem::path& path) const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert.get());
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::ofstream{path, std::ios::binary}.write(data, size);
    BIO_free(bio);
  }
};

class TlsServer {
 public:
  explicit TlsServer(const SelfSigned& identity)
      : server_(identity.cert.get(), identity.key.get()) {
    server_.Get("/v1/models", [](const httplib::Request&, httplib::Response& response) {
      response.set_content(R"({"data":[]})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();
  }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;
  TlsServer(TlsServer&&) = delete;
  TlsServer& operator=(TlsServer&&) = delete;
  ~TlsServer() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url() const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/v1/models";
  }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
};

template <class T>
class TlsTest : public ::testing::Test {
 protected:
  SelfSigned identity;
  TlsServer server{identity};
  std::filesystem::path ca_file =
      std::filesystem::temp_directory_path() /
      ("keyward-tls-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
       "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".pem");

  void TearDown() override { std::filesystem::remove(ca_file); }

  // A handshake costs more than a plain request, all the more under a sanitizer: 2 s.
  static transport::HttpOptions options() {
    auto options = test_http_options();
    options.connect_timeout = std::chrono::seconds{2};
    options.timeout = std::chrono::seconds{2};
    return options;
  }
};

TYPED_TEST_SUITE(TlsTest, TransportTypes, TransportNames);

TYPED_TEST(TlsTest, ACertificateNoTrustedCaSignedIsRefused) {
  auto transport = make_transport<TypeParam>(this->options());
  auto response = transport.send(Request{.method = "GET", .url = this->server.url()});
  ASSERT_FALSE(response) << "HTTP " << response->status;
  EXPECT_EQ(response.error().kind, TransportErrc::tls) << response.error().message;
}

TYPED_TEST(TlsTest, TheSameServerIsAcceptedOnceItsCaIsConfigured) {
  this->identity.write_pem(this->ca_file);
  auto options = this->options();
  options.ca_file = this->ca_file.string();
  auto transport = make_transport<TypeParam>(options);
  auto response = transport.send(Request{.method = "GET", .url = this->server.url()});
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"data":[]})");
}

}  // namespace
}  // namespace keyward::testing

#endif  // KEYWARD_TEST_HTTPLIB
