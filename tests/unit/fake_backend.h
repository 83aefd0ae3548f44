// A backend in the test process for the client core: each connection the client opens is one
// end of a socketpair; a thread on the other end reads the Hello, answers a Welcome and then
// runs a script (a misbehaving server, or the real serve loop with a handler table).
#pragma once
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/transport.h"
#include "common/transport_shm.h"
#include "common/wire.h"
#include "frontend/core/session.h"

namespace gvirtus::testing {

// Reads one whole frame.
inline Status read_frame(Stream& s, wire::FrameHeader* h, std::vector<uint8_t>* payload,
                         uint32_t max = wire::kMaxPayload) {
  Status st = recv_header(s, max, h);
  if (!st) return st;
  payload->resize(h->length);
  if (h->length == 0) return Status::ok();
  return s.recv(payload->data(), payload->size());
}

inline Status send_reply(Stream& s, const wire::FrameHeader& req, int32_t status, int32_t aux,
                         const std::vector<uint8_t>& payload = {}) {
  wire::FrameHeader r;
  r.kind = static_cast<uint16_t>(wire::Kind::kReply);
  r.call_id = req.call_id;
  r.request_id = req.request_id;
  r.status = status;
  r.aux = aux;
  struct iovec iov = {const_cast<uint8_t*>(payload.data()), payload.size()};
  return send_frame(s, r, &iov, 1);
}

class FakeBackend {
 public:
  // Runs after the Welcome on each accepted connection, on that connection's thread.
  using Script = std::function<void(Stream& s, const wire::Hello& hello)>;

  explicit FakeBackend(Script script, wire::Welcome welcome = {}, bool answer_hello = true)
      : script_(std::move(script)), welcome_(std::move(welcome)), answer_hello_(answer_hello) {}

  ~FakeBackend() { stop(); }

  // Shuts every server-side stream down and joins the threads.
  void stop() {
    {
      std::lock_guard<std::mutex> g(mu_);
      for (Stream* s : streams_) s->shutdown();
    }
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  client::Connector connector() {
    return [this](std::unique_ptr<Stream>* out, std::string* where) -> Status {
      *where = "fake://backend";
      std::unique_ptr<Stream> server;
      Status st = shm_ ? shm_stream_pair(&server, out) : stream_pair(out, &server);
      if (!st) return st;
      std::lock_guard<std::mutex> g(mu_);
      ++connections_;
      Stream* raw = server.get();
      streams_.push_back(raw);
      threads_.emplace_back([this, s = std::move(server)]() mutable { serve(std::move(s)); });
      return Status::ok();
    };
  }

  // Later connections are shm: pairs (rings and a socket that can pass descriptors).
  void use_shm() { shm_ = true; }

  std::vector<wire::Hello> hellos() {
    std::lock_guard<std::mutex> g(mu_);
    return hellos_;
  }
  int connections() {
    std::lock_guard<std::mutex> g(mu_);
    return connections_;
  }
  // Connections whose script has returned (the client closed, or the script gave up).
  int finished() {
    std::lock_guard<std::mutex> g(mu_);
    return finished_;
  }

 private:
  void serve(std::unique_ptr<Stream> s) {
    wire::FrameHeader h;
    std::vector<uint8_t> payload;
    if (read_frame(*s, &h, &payload, wire::kMaxHelloPayload)) {
      wire::Hello hello;
      bool ok = true;
      try {
        wire::Reader r(payload.data(), payload.size());
        hello = wire::decode_hello(r);
      } catch (const wire::DecodeError&) {
        ok = false;
      }
      if (ok) {
        {
          std::lock_guard<std::mutex> g(mu_);
          hellos_.push_back(hello);
        }
        if (answer_hello_) {
          wire::Writer w;
          wire::encode_welcome(welcome_, w);
          wire::FrameHeader wh;
          wh.kind = static_cast<uint16_t>(wire::Kind::kWelcome);
          struct iovec iov = {const_cast<uint8_t*>(w.data()), w.size()};
          if (send_frame(*s, wh, &iov, 1) && welcome_.status == 0) script_(*s, hello);
        } else {
          // Say nothing until the client gives up.
          char c;
          (void)s->recv(&c, 1);
        }
      }
    }
    std::lock_guard<std::mutex> g(mu_);
    ++finished_;
    // The stream object stays alive until the backend is destroyed (stop() may still use it).
    keep_.push_back(std::move(s));
  }

  Script script_;
  wire::Welcome welcome_;
  bool answer_hello_;
  bool shm_ = false;
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::vector<Stream*> streams_;
  std::vector<std::unique_ptr<Stream>> keep_;
  std::vector<wire::Hello> hellos_;
  int connections_ = 0;
  int finished_ = 0;
};

// Session options for tests: a fixed identity, no stderr line, a short handshake deadline.
inline client::SessionOptions test_session_options(client::Connector c) {
  client::SessionOptions o;
  o.connect = std::move(c);
  std::memset(o.identity.token, 0x5a, sizeof o.identity.token);
  o.identity.pid = 4242;
  o.identity.hostname = "testhost";
  o.identity.program = "/bin/test";
  o.plugins = {"cudart"};
  o.handshake_timeout_ms = 2000;
  o.print_loss = false;
  return o;
}

// Routes client::connection()/Call to a session for the lifetime of the guard.
class SessionOverride {
 public:
  explicit SessionOverride(client::Session* s) : prev_(client::swap_session_for_testing(s)) {}
  ~SessionOverride() { client::swap_session_for_testing(prev_); }

 private:
  client::Session* prev_;
};

}  // namespace gvirtus::testing
