#include "tools/load/options.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

namespace ringcast::load {

const char kLoadUsage[] =
    "usage: ringcast-load SCENARIO --url ws://HOST:PORT/PATH[,ws://...] [flags]\n"
    "\n"
    "Load generator for ringcast and any server speaking the sub/pub subset of its protocol.\n"
    "\n"
    "scenarios:\n"
    "  fanout   R rooms, S subscribers spread over them (subscriber i joins room i%R),\n"
    "           P publishers (publisher j publishes to room j%R; with fewer publishers\n"
    "           than rooms it takes turns over rooms j, j+P, j+2P, ...) at a paced total rate,\n"
    "           or closed loop (--rate 0): each publisher subscribes to its own room and\n"
    "           keeps --window messages in flight, one counting as done when its own echo\n"
    "           comes back. Expected deliveries = sum over messages of the receivers of its\n"
    "           room (subscribers, plus publishers in closed loop).\n"
    "  direct   --conns users u0..uN-1; user i sends to user i+1 (`send`) at --rate total\n"
    "  churn    connect, upgrade, sub, close: --rate cycles/s, at most --conns at once;\n"
    "           latency = connect start to the sub's ok\n"
    "  idle     hold --conns connections for --duration (memory per connection)\n"
    "\n"
    "flags:\n"
    "  --url URL[,URL..]  target (default ws://127.0.0.1:8080/ws); IPv4 or localhost. Repeat\n"
    "                     it or give a comma list to name several nodes of a cluster\n"
    "  --spread MODE      over several nodes: conn (default) = round robin per connection,\n"
    "                     the members of each room on successive nodes, so rooms span nodes;\n"
    "                     room = all of room r's connections on one node, rooms round robin\n"
    "                     over nodes (fanout only; nothing has to cross nodes)\n"
    "  --pub-nodes LIST   fanout: publishers dial only these nodes (1-based positions in the\n"
    "                     --url list, e.g. 1 or 2,3), round robin among them\n"
    "  --sub-nodes LIST   fanout: subscribers dial only these nodes, likewise\n"
    "  --rooms N          rooms (default 1)\n"
    "  --subs N           subscribers (default 100)\n"
    "  --pubs N           publishers (default 1)\n"
    "  --rate X           total messages/s (churn: cycles/s); 0 = closed loop (default 1000)\n"
    "  --window N         closed loop: messages in flight per publisher (default 1)\n"
    "  --size N           payload bytes, at least 46 (default 64)\n"
    "  --duration S       measured window in seconds (default 5)\n"
    "  --warmup S         seconds of publishing before the window, not counted (default 1)\n"
    "  --drain S          after the window, wait up to S s for deliveries in flight (default 2)\n"
    "  --conns N          idle/direct: connections; churn: concurrent cycles (default 1000)\n"
    "  --ramp X           new connections per second while connecting (default 5000)\n"
    "  --rcvbuf BYTES     SO_RCVBUF of every connection (default 0: the kernel's autotuning).\n"
    "                     On loopback, autotuned buffers of many subscribers outpaced by the\n"
    "                     server grow until the kernel's TCP memory is under pressure\n"
    "                     (net.ipv4.tcp_mem), and then it prunes and drops segments: stalls of\n"
    "                     200 ms retransmissions that measure the kernel, not the server\n"
    "  --threads N        generator threads per process, one io_uring each (default 1)\n"
    "  --procs N          generator processes (default: 1, or one per 18000 connections,\n"
    "                     since a process may hold only ~20000 files)\n"
    "  --server-pid PID   report the server's CPU s per million deliveries and RSS per\n"
    "                     connection over the measured window (read from /proc); repeat it\n"
    "                     or give a comma list for several nodes (CPU and RSS are summed)\n"
    "  --no-spread        do not bind source addresses 127.0.0.2.. for a loopback target\n"
    "  --dialect NAME     protocol dialect: native (default) or socketio\n"
    "  --json             print one JSON object on stdout instead of the table\n"
    "  --quiet            no live line each second on stderr\n"
    "  --help             show this text\n";

std::string_view ScenarioName(Scenario s) {
  switch (s) {
    case Scenario::kFanout:
      return "fanout";
    case Scenario::kDirect:
      return "direct";
    case Scenario::kChurn:
      return "churn";
    case Scenario::kIdle:
      return "idle";
  }
  return "?";
}

std::string LoadOptions::UrlList() const {
  std::string out;
  for (const Node& n : nodes) out.append(out.empty() ? "" : ",").append(n.url);
  return out;
}

uint64_t LoadOptions::planned_connections() const {
  switch (scenario) {
    case Scenario::kFanout:
      return uint64_t{subs} + pubs;
    case Scenario::kDirect:
    case Scenario::kIdle:
    case Scenario::kChurn:
      return conns;
  }
  return 0;
}

namespace {

bool ParseU32(std::string_view text, uint32_t min, uint32_t max, uint32_t* out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

bool ParseDouble(std::string_view text, double min, double max, double* out) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v >= min) || !(v <= max)) return false;
  *out = v;
  return true;
}

std::optional<std::string> ParseUrl(std::string_view url, Node* n) {
  n->url = std::string(url);
  if (!url.starts_with("ws://")) return "--url must start with ws:// (wss is not supported)";
  url.remove_prefix(5);
  size_t slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  n->path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  size_t colon = hostport.rfind(':');
  std::string host(hostport.substr(0, colon));
  uint32_t port = 80;
  if (colon != std::string_view::npos && !ParseU32(hostport.substr(colon + 1), 1, 65535, &port)) {
    return "bad port in --url " + n->url;
  }
  n->host = std::string(hostport);
  if (host == "localhost") host = "127.0.0.1";
  n->addr.sin_family = AF_INET;
  n->addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &n->addr.sin_addr) != 1) {
    return "--url host must be an IPv4 address or localhost: " + n->url;
  }
  return std::nullopt;
}

// Appends the comma-separated items of `text` to *out; false on an empty item.
bool SplitList(std::string_view text, std::vector<std::string_view>* out) {
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    if (item.empty()) return false;
    out->push_back(item);
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

// "1,3" -> {0, 2}: 1-based node positions, each at most `nodes` and named once.
std::optional<std::string> ParseNodeList(std::string_view flag, std::string_view text,
                                         uint32_t nodes, std::vector<uint32_t>* out) {
  std::vector<std::string_view> items;
  if (!SplitList(text, &items))
    return "bad list '" + std::string(text) + "' for " + std::string(flag);
  for (std::string_view item : items) {
    uint32_t v = 0;
    if (!ParseU32(item, 1, kMaxNodes, &v) || v > nodes) {
      return std::string(flag) + " " + std::string(item) + ": the --url list has " +
             std::to_string(nodes) + " node(s), numbered from 1";
    }
    for (uint32_t seen : *out) {
      if (seen == v - 1) return std::string(flag) + " names node " + std::string(item) + " twice";
    }
    out->push_back(v - 1);
  }
  return std::nullopt;
}

bool ParseSpread(std::string_view text, Spread* out) {
  if (text == "conn") {
    *out = Spread::kConn;
  } else if (text == "room") {
    *out = Spread::kRoom;
  } else {
    return false;
  }
  return true;
}

bool ParsePids(std::string_view text, std::vector<int>* out) {
  std::vector<std::string_view> items;
  if (!SplitList(text, &items)) return false;
  for (std::string_view item : items) {
    uint32_t pid = 0;
    if (!ParseU32(item, 1, 1u << 30, &pid)) return false;
    out->push_back(static_cast<int>(pid));
  }
  return true;
}

// The node list and who dials which nodes, checked against the scenario.
std::optional<std::string> ParseNodes(std::vector<std::string_view> urls,
                                      std::optional<std::string_view> pub_nodes,
                                      std::optional<std::string_view> sub_nodes, LoadOptions* o) {
  if (urls.empty()) urls.push_back("ws://127.0.0.1:8080/ws");
  if (urls.size() > kMaxNodes) return "at most " + std::to_string(kMaxNodes) + " --url nodes";
  o->nodes.assign(urls.size(), Node{});
  for (size_t i = 0; i < urls.size(); ++i) {
    if (auto err = ParseUrl(urls[i], &o->nodes[i])) return err;
  }
  const uint32_t n = static_cast<uint32_t>(o->nodes.size());
  o->pub_nodes.clear();
  o->sub_nodes.clear();
  if (pub_nodes) {
    if (auto err = ParseNodeList("--pub-nodes", *pub_nodes, n, &o->pub_nodes)) return err;
  }
  if (sub_nodes) {
    if (auto err = ParseNodeList("--sub-nodes", *sub_nodes, n, &o->sub_nodes)) return err;
  }
  const bool pinned = !o->pub_nodes.empty() || !o->sub_nodes.empty();
  if (pinned && o->scenario != Scenario::kFanout) {
    return "--pub-nodes and --sub-nodes apply to the fanout scenario only";
  }
  if (o->spread == Spread::kRoom) {
    if (o->scenario != Scenario::kFanout)
      return "--spread room applies to the fanout scenario only";
    if (pinned)
      return "--spread room puts a room's publishers and subscribers on one node; "
             "it cannot be combined with --pub-nodes or --sub-nodes";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ParseLoadArgs(int argc, char** argv, LoadOptions* o, bool* help) {
  *help = false;
  bool have_scenario = false;
  std::vector<std::string_view> urls;
  std::optional<std::string_view> pub_nodes, sub_nodes;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return std::nullopt;
    }
    if (!arg.starts_with("--")) {
      if (have_scenario) return "unexpected argument '" + std::string(arg) + "'";
      have_scenario = true;
      if (arg == "fanout")
        o->scenario = Scenario::kFanout;
      else if (arg == "direct")
        o->scenario = Scenario::kDirect;
      else if (arg == "churn")
        o->scenario = Scenario::kChurn;
      else if (arg == "idle")
        o->scenario = Scenario::kIdle;
      else
        return "unknown scenario '" + std::string(arg) + "' (fanout, direct, churn, idle)";
      continue;
    }
    std::string_view value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg != "--json" && arg != "--quiet" && arg != "--no-spread") {
      if (i + 1 >= argc) return std::string(arg) + " needs a value";
      value = argv[++i];
    }
    bool ok = true;
    if (arg == "--url")
      ok = SplitList(value, &urls);
    else if (arg == "--pub-nodes")
      pub_nodes = value;
    else if (arg == "--sub-nodes")
      sub_nodes = value;
    else if (arg == "--spread")
      ok = ParseSpread(value, &o->spread);
    else if (arg == "--dialect")
      o->dialect = std::string(value);
    else if (arg == "--rooms")
      ok = ParseU32(value, 1, 1000000, &o->rooms);
    else if (arg == "--subs")
      ok = ParseU32(value, 0, 10000000, &o->subs);
    else if (arg == "--pubs")
      ok = ParseU32(value, 0, 1000000, &o->pubs);
    else if (arg == "--rate")
      ok = ParseDouble(value, 0, 1e9, &o->rate);
    else if (arg == "--window")
      ok = ParseU32(value, 1, 1000000, &o->window);
    else if (arg == "--size")
      ok = ParseU32(value, 1, 60000, &o->size);
    else if (arg == "--duration")
      ok = ParseDouble(value, 0.1, 86400, &o->duration_s);
    else if (arg == "--warmup")
      ok = ParseDouble(value, 0, 3600, &o->warmup_s);
    else if (arg == "--drain")
      ok = ParseDouble(value, 0, 600, &o->drain_s);
    else if (arg == "--conns")
      ok = ParseU32(value, 1, 10000000, &o->conns);
    else if (arg == "--ramp")
      ok = ParseDouble(value, 1, 1e7, &o->ramp);
    else if (arg == "--rcvbuf")
      ok = ParseU32(value, 0, 1u << 30, &o->rcvbuf);
    else if (arg == "--threads")
      ok = ParseU32(value, 1, 256, &o->threads);
    else if (arg == "--procs")
      ok = ParseU32(value, 1, 256, &o->procs);
    else if (arg == "--server-pid")
      ok = ParsePids(value, &o->server_pids);
    else if (arg == "--json")
      o->json = true;
    else if (arg == "--quiet")
      o->live = false;
    else if (arg == "--no-spread")
      o->spread_sources = false;
    else
      return "unknown flag " + std::string(arg) + " (see --help)";
    if (!ok) return "bad value '" + std::string(value) + "' for " + std::string(arg);
  }
  if (!have_scenario) return "missing SCENARIO (fanout, direct, churn, idle); see --help";
  if (auto err = ParseNodes(urls, pub_nodes, sub_nodes, o)) return err;
  if (o->size < 46) o->size = 46;
  if (o->scenario == Scenario::kFanout && o->pubs == 0) return "fanout needs --pubs >= 1";
  if (o->scenario == Scenario::kChurn && o->rate <= 0) return "churn needs --rate > 0";
  if (o->scenario == Scenario::kDirect && o->conns < 2) return "direct needs --conns >= 2";
  return std::nullopt;
}

}  // namespace ringcast::load
