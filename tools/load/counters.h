// Counters: what one worker thread has seen, summed over threads and processes. One table
// (kFields) names every field once, for summing, the pipe between generator processes and the
// JSON output, so a new counter cannot be forgotten in one of them.
// Plain data; each worker owns its copy and hands snapshots over under a mutex.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringcast::load {

struct Counters {
  uint64_t conns_planned = 0;
  uint64_t conns_started = 0;
  uint64_t conns_open = 0;   // upgraded and not closed
  uint64_t conns_ready = 0;  // open and, for receivers, subscribed
  uint64_t published = 0;    // messages handed to the socket (warmup included)
  uint64_t published_measured = 0;
  uint64_t not_sent = 0;    // due but dropped before sending: the send backlog was full
  uint64_t expected = 0;    // deliveries the measured messages must produce
  uint64_t deliveries = 0;  // measured messages received
  uint64_t deliveries_all = 0;
  uint64_t received_in_window = 0;  // any of ours received during the window (overload rate)
  uint64_t gaps = 0;                // sequence numbers skipped, as seen by receivers
  uint64_t reorders = 0;            // a sequence number at or below one already seen
  uint64_t foreign = 0;             // msg frames that were not ours (ignored)
  uint64_t cycles = 0;              // churn: connect..ok cycles completed (measured)
  uint64_t cycles_all = 0;
  uint64_t err_connect = 0;
  uint64_t err_upgrade = 0;
  uint64_t err_closed = 0;    // closed by the server or reset, unasked
  uint64_t err_server = 0;    // `error` frames
  uint64_t err_protocol = 0;  // bad frames or payloads
  uint64_t err_send = 0;
  uint64_t publishing_done = 0;  // workers that have stopped publishing for good

  uint64_t errors() const {
    return err_connect + err_upgrade + err_closed + err_server + err_protocol + err_send;
  }

  struct Field {
    std::string_view name;
    uint64_t Counters::*member;
  };
  static constexpr std::array kFields = {
      Field{"conns_planned", &Counters::conns_planned},
      Field{"conns_started", &Counters::conns_started},
      Field{"conns_open", &Counters::conns_open},
      Field{"conns_ready", &Counters::conns_ready},
      Field{"published", &Counters::published},
      Field{"published_measured", &Counters::published_measured},
      Field{"not_sent", &Counters::not_sent},
      Field{"expected", &Counters::expected},
      Field{"deliveries", &Counters::deliveries},
      Field{"deliveries_all", &Counters::deliveries_all},
      Field{"received_in_window", &Counters::received_in_window},
      Field{"gaps", &Counters::gaps},
      Field{"reorders", &Counters::reorders},
      Field{"foreign", &Counters::foreign},
      Field{"cycles", &Counters::cycles},
      Field{"cycles_all", &Counters::cycles_all},
      Field{"err_connect", &Counters::err_connect},
      Field{"err_upgrade", &Counters::err_upgrade},
      Field{"err_closed", &Counters::err_closed},
      Field{"err_server", &Counters::err_server},
      Field{"err_protocol", &Counters::err_protocol},
      Field{"err_send", &Counters::err_send},
      Field{"publishing_done", &Counters::publishing_done},
  };

  void Add(const Counters& other) {
    for (const Field& f : kFields) this->*f.member += other.*f.member;
  }
};

}  // namespace ringcast::load
