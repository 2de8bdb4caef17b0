#include "support/http_test_servers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace parley::test_support {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto k_use_tuple = asio::as_tuple(asio::use_awaitable);

tcp::endpoint loopback_any_port() {
  return {asio::ip::address_v4::loopback(), 0};
}

asio::awaitable<void> hang_up_loop(tcp::acceptor& acceptor) {
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(k_use_tuple);
    if (error) {
      co_return;
    }
    socket.close();
  }
}

using recorder = std::function<void(tls_connection_record)>;

asio::awaitable<void> serve_tls_connection(tcp::socket socket, asio::ssl::context& tls,
                                           recorder record) {
  asio::ssl::stream<tcp::socket> stream(std::move(socket), tls);
  tls_connection_record connection;
  auto [handshake_error] =
      co_await stream.async_handshake(asio::ssl::stream_base::server, k_use_tuple);
  if (const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
    connection.server_name = name;
  }
  if (!handshake_error) {
    connection.handshake_succeeded = true;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    auto [read_error, read] = co_await http::async_read(stream, buffer, request, k_use_tuple);
    if (!read_error) {
      std::ostringstream text;
      text << request;
      connection.request = text.str();
      http::response<http::string_body> response{http::status::created, 11};
      response.set(http::field::content_type, "application/json");
      response.body() = R"({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued"})";
      response.keep_alive(false);
      response.prepare_payload();
      co_await http::async_write(stream, response, k_use_tuple);
    }
  }
  record(std::move(connection));
}

asio::awaitable<void> tls_accept_loop(tcp::acceptor& acceptor, asio::ssl::context& tls,
                                      recorder record) {
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(k_use_tuple);
    if (error) {
      co_return;
    }
    asio::co_spawn(acceptor.get_executor(), serve_tls_connection(std::move(socket), tls, record),
                   asio::detached);
  }
}

struct openssl_free {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509* certificate) const { X509_free(certificate); }
  void operator()(BIO* bio) const { BIO_free(bio); }
};

// A self-signed certificate for DNS name `localhost`, installed in `tls`; returns its PEM.
std::string install_self_signed_certificate(asio::ssl::context& tls) {
  std::unique_ptr<EVP_PKEY, openssl_free> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, openssl_free> certificate(X509_new());
  if (!key || !certificate) {
    throw std::runtime_error("cannot make a key or a certificate");
  }
  X509* raw = certificate.get();
  X509_set_version(raw, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(raw), 1);
  X509_gmtime_adj(X509_getm_notBefore(raw), -60);
  X509_gmtime_adj(X509_getm_notAfter(raw), 3600);
  X509_set_pubkey(raw, key.get());
  X509_NAME* name = X509_get_subject_name(raw);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(raw, name);
  X509V3_CTX extension_context;
  X509V3_set_ctx_nodb(&extension_context);
  X509V3_set_ctx(&extension_context, raw, raw, nullptr, nullptr, 0);
  X509_EXTENSION* alternative_names =
      X509V3_EXT_conf_nid(nullptr, &extension_context, NID_subject_alt_name, "DNS:localhost");
  if (alternative_names == nullptr || X509_add_ext(raw, alternative_names, -1) != 1) {
    throw std::runtime_error("cannot add subjectAltName");
  }
  X509_EXTENSION_free(alternative_names);
  if (X509_sign(raw, key.get(), EVP_sha256()) == 0) {
    throw std::runtime_error("cannot sign the certificate");
  }
  if (SSL_CTX_use_certificate(tls.native_handle(), raw) != 1 ||
      SSL_CTX_use_PrivateKey(tls.native_handle(), key.get()) != 1) {
    throw std::runtime_error("cannot install the certificate");
  }
  std::unique_ptr<BIO, openssl_free> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), raw);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

} // namespace

silent_listener::silent_listener() : acceptor_(context_, loopback_any_port()) {
  port_ = acceptor_.local_endpoint().port();
}

hang_up_server::hang_up_server() : acceptor_(context_, loopback_any_port()) {
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(context_, hang_up_loop(acceptor_), asio::detached);
  thread_ = std::thread([this] { context_.run(); });
}

hang_up_server::~hang_up_server() {
  context_.stop();
  thread_.join();
}

tls_test_server::tls_test_server()
    : tls_(asio::ssl::context::tls_server), acceptor_(context_, loopback_any_port()) {
  port_ = acceptor_.local_endpoint().port();
  certificate_pem_ = install_self_signed_certificate(tls_);
  recorder record = [this](tls_connection_record connection) {
    {
      const std::lock_guard lock(mutex_);
      finished_.push_back(std::move(connection));
    }
    finished_changed_.notify_all();
  };
  asio::co_spawn(context_, tls_accept_loop(acceptor_, tls_, std::move(record)), asio::detached);
  thread_ = std::thread([this] { context_.run(); });
}

tls_test_server::~tls_test_server() {
  context_.stop();
  thread_.join();
}

std::optional<tls_connection_record> tls_test_server::next_connection(std::chrono::seconds limit) {
  std::unique_lock lock(mutex_);
  if (!finished_changed_.wait_for(lock, limit, [this] { return !finished_.empty(); })) {
    return std::nullopt;
  }
  auto connection = std::move(finished_.front());
  finished_.pop_front();
  return connection;
}

} // namespace parley::test_support
