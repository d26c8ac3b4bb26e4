#include "tools/load/report.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>

namespace ringcast::load {

namespace {

constexpr double kGeneratorBoundPct = 90.0;

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

bool ParseU64(std::string_view s, uint64_t* v) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* v) {
  std::string copy(s);
  char* end = nullptr;
  *v = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

double Us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

bool IsMessageScenario(const LoadOptions& o) {
  return o.scenario == Scenario::kFanout || o.scenario == Scenario::kDirect;
}

}  // namespace

void ProcResult::Merge(const ProcResult& other) {
  counters.Add(other.counters);
  latency.Merge(other.latency);
  cpu_s += other.cpu_s;
  busiest_thread_pct = std::max(busiest_thread_pct, other.busiest_thread_pct);
  threads += other.threads;
  if (fatal.empty()) fatal = other.fatal;
}

std::string EncodeResultLine(char tag, const ProcResult& r) {
  std::string line(1, tag);
  for (const Counters::Field& f : Counters::kFields) {
    line.append(" ").append(f.name).append("=").append(std::to_string(r.counters.*f.member));
  }
  line.append(" cpu_s=").append(Fmt("%.6f", r.cpu_s));
  line.append(" busiest=").append(Fmt("%.3f", r.busiest_thread_pct));
  line.append(" threads=").append(std::to_string(r.threads));
  line.append(" hist=");
  bool first = true;
  r.latency.ForEachBucket([&](size_t index, uint64_t count) {
    if (!first) line.push_back(',');
    first = false;
    line.append(std::to_string(index)).append(":").append(std::to_string(count));
  });
  line.push_back('\n');
  return line;
}

bool DecodeResultLine(std::string_view line, char* tag, ProcResult* out) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.size() < 2 || line[1] != ' ') return false;
  *tag = line[0];
  line.remove_prefix(2);
  while (!line.empty()) {
    size_t sp = line.find(' ');
    std::string_view item = line.substr(0, sp);
    line = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view key = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    bool ok = true;
    if (key == "cpu_s") {
      ok = ParseDouble(value, &out->cpu_s);
    } else if (key == "busiest") {
      ok = ParseDouble(value, &out->busiest_thread_pct);
    } else if (key == "threads") {
      uint64_t t = 0;
      ok = ParseU64(value, &t);
      out->threads = static_cast<uint32_t>(t);
    } else if (key == "hist") {
      while (ok && !value.empty()) {
        size_t comma = value.find(',');
        std::string_view pair = value.substr(0, comma);
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        size_t colon = pair.find(':');
        uint64_t index = 0, count = 0;
        ok = colon != std::string_view::npos && ParseU64(pair.substr(0, colon), &index) &&
             ParseU64(pair.substr(colon + 1), &count);
        if (ok) out->latency.AddToBucket(index, count);
      }
    } else {
      for (const Counters::Field& f : Counters::kFields) {
        if (f.name == key) ok = ParseU64(value, &(out->counters.*f.member));
      }
    }
    if (!ok) return false;
  }
  return true;
}

std::string LiveLine(double elapsed_s, std::string_view phase, const Counters& c,
                     double deliveries_per_s, const core::Histogram& interval) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "[%5.1fs] %-8.*s conns %" PRIu64 "/%" PRIu64
                "  deliv/s %.0f  p50 %.0fus  "
                "p99 %.0fus  gaps %" PRIu64 "  errors %" PRIu64,
                elapsed_s, static_cast<int>(phase.size()), phase.data(), c.conns_ready,
                c.conns_planned, deliveries_per_s, Us(interval.Percentile(50)),
                Us(interval.Percentile(99)), c.gaps, c.errors());
  return buf;
}

namespace {

// One line per node: what the plan sends its way.
void PrintNodes(std::FILE* out, const Report& r) {
  const std::vector<NodeShare> shares = r.plan->NodeShares();
  for (size_t i = 0; i < shares.size() && i < r.options->nodes.size(); ++i) {
    std::fprintf(out,
                 "  node %zu  %s  connections %" PRIu64 "  subscribers %" PRIu64
                 "  publishers %" PRIu64 "\n",
                 i + 1, r.options->nodes[i].url.c_str(), shares[i].connections,
                 shares[i].subscribers, shares[i].publishers);
  }
}

}  // namespace

void PrintTable(std::FILE* out, const Report& r) {
  const LoadOptions& o = *r.options;
  const Counters& c = r.result.counters;
  const core::Histogram& h = r.result.latency;
  std::fprintf(out, "ringcast-load %s  %s  (%u procs x %u threads)\n",
               std::string(ScenarioName(o.scenario)).c_str(), o.UrlList().c_str(), r.procs,
               r.procs ? r.result.threads / r.procs : 0);
  if (o.scenario == Scenario::kFanout) {
    std::fprintf(out, "  rooms %u  subscribers %u  publishers %u  payload %u B  %s\n", o.rooms,
                 o.subs, o.pubs, o.size,
                 o.closed_loop() ? ("closed loop, window " + std::to_string(o.window)).c_str()
                                 : ("rate " + Fmt("%.0f", o.rate) + " msg/s").c_str());
  }
  if (o.nodes.size() > 1) PrintNodes(out, r);
  std::fprintf(out, "  window %.2f s after %.2f s warmup\n\n", r.window_s, o.warmup_s);
  auto row = [&](const char* name, const std::string& value) {
    std::fprintf(out, "  %-30s %s\n", name, value.c_str());
  };
  row("connections ready / planned",
      std::to_string(c.conns_ready) + " / " + std::to_string(c.conns_planned));
  const double w = r.window_s > 0 ? r.window_s : 1;
  if (IsMessageScenario(o)) {
    row("messages published (window)", std::to_string(c.published_measured));
    if (c.not_sent) row("messages due but not sent", std::to_string(c.not_sent));
    row("deliveries / expected", std::to_string(c.deliveries) + " / " + std::to_string(c.expected));
    row("delivery ratio", Fmt("%.6f", c.expected ? double(c.deliveries) / double(c.expected) : 0));
    row("deliveries/s achieved", Fmt("%.0f", double(c.deliveries) / w));
    row("received/s in window (any publish time)", Fmt("%.0f", double(c.received_in_window) / w));
    row("deliveries/s demanded", o.closed_loop() ? std::string("closed loop")
                                                 : Fmt("%.0f", r.plan->DemandedDeliveriesPerS()));
  } else if (o.scenario == Scenario::kChurn) {
    row("cycles completed (window)", std::to_string(c.cycles));
    row("cycles/s achieved / demanded",
        Fmt("%.0f", double(c.cycles) / w) + " / " + Fmt("%.0f", o.rate));
  }
  if (o.scenario != Scenario::kIdle) {
    row(o.scenario == Scenario::kChurn ? "cycle latency us p50/p90/p99" : "latency us p50/p90/p99",
        Fmt("%.1f", Us(h.Percentile(50))) + " / " + Fmt("%.1f", Us(h.Percentile(90))) + " / " +
            Fmt("%.1f", Us(h.Percentile(99))));
    row("latency us p99.9 / max",
        Fmt("%.1f", Us(h.Percentile(99.9))) + " / " + Fmt("%.1f", Us(h.max())));
    row("gaps / reorders", std::to_string(c.gaps) + " / " + std::to_string(c.reorders));
  }
  row("errors", std::to_string(c.errors()) + "  (connect " + std::to_string(c.err_connect) +
                    ", upgrade " + std::to_string(c.err_upgrade) + ", closed " +
                    std::to_string(c.err_closed) + ", server " + std::to_string(c.err_server) +
                    ", protocol " + std::to_string(c.err_protocol) + ", send " +
                    std::to_string(c.err_send) + ")");
  if (r.server) {
    const ServerWindow& s = *r.server;
    row("server CPU s (window)", Fmt("%.3f", s.cpu_s));
    if (c.deliveries)
      row("server CPU s per 1M deliveries", Fmt("%.4f", s.cpu_s * 1e6 / double(c.deliveries)));
    row("server RSS before / end MiB", Fmt("%.1f", double(s.rss_before_bytes) / 1048576) + " / " +
                                           Fmt("%.1f", double(s.rss_end_bytes) / 1048576));
    if (c.conns_open) {
      row("server RSS per connection B",
          Fmt("%.0f",
              (double(s.rss_end_bytes) - double(s.rss_before_bytes)) / double(c.conns_open)));
    }
  }
  row("generator CPU s (window)", Fmt("%.3f", r.result.cpu_s) + "  (" +
                                      Fmt("%.0f", 100 * r.result.cpu_s / w) + "% of one core)");
  row("generator busiest thread", Fmt("%.1f%%", r.result.busiest_thread_pct));
  std::string warnings = ReportWarnings(r);
  if (!warnings.empty()) std::fprintf(out, "\n%s", warnings.c_str());
}

std::string ReportWarnings(const Report& r) {
  std::string w;
  const Counters& c = r.result.counters;
  if (r.result.busiest_thread_pct > kGeneratorBoundPct) {
    w += "WARNING: generator-bound: a generator thread was busy " +
         Fmt("%.0f", r.result.busiest_thread_pct) +
         "% of the window; numbers may reflect the generator, not the server (add --threads "
         "or --procs, or free a core)\n";
  }
  if (c.not_sent) {
    w += "WARNING: " + std::to_string(c.not_sent) +
         " due messages were not sent (connection not ready or send backlog full)\n";
  }
  if (!r.result.fatal.empty()) w += "ERROR: " + r.result.fatal + "\n";
  return w;
}

std::string ReportJson(const Report& r) {
  const LoadOptions& o = *r.options;
  const Counters& c = r.result.counters;
  const core::Histogram& h = r.result.latency;
  const double w = r.window_s > 0 ? r.window_s : 1;
  auto num = [](double v) { return Fmt("%.6g", v); };
  auto u = [](uint64_t v) { return std::to_string(v); };
  std::string j = "{";
  auto kv = [&](std::string_view k, const std::string& v) {
    if (j.size() > 1) j += ",";
    j.append("\"").append(k).append("\":").append(v);
  };
  kv("scenario", "\"" + std::string(ScenarioName(o.scenario)) + "\"");
  kv("url", "\"" + o.UrlList() + "\"");
  kv("spread", o.spread == Spread::kRoom ? "\"room\"" : "\"conn\"");
  std::string nodes = "[";
  const std::vector<NodeShare> shares = r.plan->NodeShares();
  for (size_t i = 0; i < shares.size() && i < o.nodes.size(); ++i) {
    nodes += (i ? ",{\"url\":\"" : "{\"url\":\"") + o.nodes[i].url +
             "\",\"connections_planned\":" + u(shares[i].connections) +
             ",\"subscribers\":" + u(shares[i].subscribers) +
             ",\"publishers\":" + u(shares[i].publishers) + "}";
  }
  kv("nodes", nodes + "]");
  kv("rooms", u(o.rooms));
  kv("subs", u(o.subs));
  kv("pubs", u(o.pubs));
  kv("rate", num(o.rate));
  kv("window", u(o.window));
  kv("size", u(o.size));
  kv("rcvbuf", u(o.rcvbuf));
  kv("duration_s", num(r.window_s));
  kv("warmup_s", num(o.warmup_s));
  kv("procs", u(r.procs));
  kv("threads", u(r.result.threads));
  kv("connections", u(c.conns_open));
  kv("connections_ready", u(c.conns_ready));
  kv("connections_planned", u(c.conns_planned));
  kv("published", u(c.published_measured));
  kv("published_all", u(c.published));  // warmup and window: what a Redis counter sees
  kv("not_sent", u(c.not_sent));
  const bool churn = o.scenario == Scenario::kChurn;
  const uint64_t deliveries = churn ? c.cycles : c.deliveries;
  const uint64_t expected = churn ? static_cast<uint64_t>(o.rate * r.window_s + 0.5) : c.expected;
  kv("deliveries", u(deliveries));
  kv("expected_deliveries", u(expected));
  kv("delivery_ratio", num(expected ? double(deliveries) / double(expected) : 0));
  kv("deliveries_per_s", num(double(deliveries) / w));
  kv("received_per_s", num(double(c.received_in_window) / w));
  kv("demanded_deliveries_per_s", num(r.plan->DemandedDeliveriesPerS()));
  auto us = [&](double p) { return num(Us(h.Percentile(p))); };
  kv("latency_us", "{\"p50\":" + us(50) + ",\"p90\":" + us(90) + ",\"p99\":" + us(99) +
                       ",\"p999\":" + us(99.9) + ",\"max\":" + num(Us(h.max())) +
                       ",\"count\":" + u(h.count()) + "}");
  kv("gaps", u(c.gaps));
  kv("reorders", u(c.reorders));
  kv("foreign", u(c.foreign));
  kv("errors", u(c.errors()));
  kv("errors_by_kind", "{\"connect\":" + u(c.err_connect) + ",\"upgrade\":" + u(c.err_upgrade) +
                           ",\"closed\":" + u(c.err_closed) + ",\"server\":" + u(c.err_server) +
                           ",\"protocol\":" + u(c.err_protocol) + ",\"send\":" + u(c.err_send) +
                           "}");
  kv("generator",
     "{\"cpu_s\":" + num(r.result.cpu_s) + ",\"cpu_pct_of_core\":" + num(100 * r.result.cpu_s / w) +
         ",\"busiest_thread_pct\":" + num(r.result.busiest_thread_pct) + ",\"generator_bound\":" +
         (r.result.busiest_thread_pct > kGeneratorBoundPct ? "true" : "false") + "}");
  if (r.server) {
    const ServerWindow& s = *r.server;
    std::string srv = "{\"cpu_s\":" + num(s.cpu_s);
    if (deliveries) srv += ",\"cpu_s_per_m_deliveries\":" + num(s.cpu_s * 1e6 / double(deliveries));
    srv += ",\"rss_before_bytes\":" + u(s.rss_before_bytes) +
           ",\"rss_end_bytes\":" + u(s.rss_end_bytes);
    if (c.conns_open) {
      srv += ",\"rss_per_conn_bytes\":" +
             num((double(s.rss_end_bytes) - double(s.rss_before_bytes)) / double(c.conns_open));
    }
    kv("server", srv + "}");
  }
  if (!r.result.fatal.empty()) kv("fatal", "\"see stderr\"");
  return j + "}\n";
}

}  // namespace ringcast::load
