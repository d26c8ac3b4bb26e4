// README.md documents every setting in two tables under "## Configuration":
// flag | TOML key | default | meaning, and key | default | meaning for
// [namespaces.NAME]. Both are written by hand, so they drift when the option
// table changes; these tests fail until README.md says what the code does
// (the code is the truth: --help prints from the same table).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "shard/config_options.h"
#include "shard/config_table.h"

namespace ringcast::shard {
namespace {

using config_internal::kCommandFlags;
using config_internal::NamespaceKey;
using config_internal::Option;

using Row = std::vector<std::string>;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The cells of "| a | b \| c |", with "\|" (a pipe inside a cell) unescaped.
Row SplitRow(std::string_view line) {
  Row cells;
  std::string cell;
  line = Trim(line);
  line.remove_prefix(1);  // the leading '|'
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (line[i] == '|') {
      cells.emplace_back(Trim(cell));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

// The "## Configuration" section of README.md, up to the next "## " heading.
std::vector<std::string> ConfigurationSection() {
  std::ifstream in(std::string(RINGCAST_SOURCE_DIR) + "/README.md");
  EXPECT_TRUE(in) << "cannot read " << RINGCAST_SOURCE_DIR << "/README.md";
  std::vector<std::string> lines;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) inside = line == "## Configuration";
    if (inside) lines.push_back(line);
  }
  return lines;
}

// The body rows of the section's table whose header row is `header`.
std::vector<Row> TableRows(const Row& header) {
  std::vector<std::string> lines = ConfigurationSection();
  auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& line) {
    return line.starts_with("|") && SplitRow(line) == header;
  });
  std::vector<Row> rows;
  if (it == lines.end()) return rows;
  for (++it; it != lines.end() && it->starts_with("|"); ++it) {
    Row row = SplitRow(*it);
    bool separator = !row.empty() && row[0].starts_with("---");
    if (!separator) rows.push_back(std::move(row));
  }
  return rows;
}

// The contents of each `code span` in a cell.
std::vector<std::string> CodeSpans(std::string_view cell) {
  std::vector<std::string> spans;
  for (size_t open = cell.find('`'); open != std::string_view::npos;) {
    size_t close = cell.find('`', open + 1);
    if (close == std::string_view::npos) break;
    spans.emplace_back(cell.substr(open + 1, close - open - 1));
    open = cell.find('`', close + 1);
  }
  return spans;
}

// A cell holding one code span, or nothing: "`limits.x`" -> "limits.x", "" -> "".
std::string CodeCell(std::string_view cell) {
  std::vector<std::string> spans = CodeSpans(cell);
  EXPECT_LE(spans.size(), 1u) << "expected one `code span` in: " << cell;
  return spans.empty() ? "" : spans[0];
}

// "`--pin-threads true|false`, `--no-pin`" -> {"--pin-threads", "--no-pin"}.
std::vector<std::string> Flags(std::string_view cell) {
  std::vector<std::string> flags;
  for (const std::string& span : CodeSpans(cell)) {
    std::string word = span.substr(0, span.find(' '));
    if (word.starts_with("--")) flags.push_back(word);
  }
  return flags;
}

bool IsCommandFlag(std::string_view flag) {
  return std::find(std::begin(kCommandFlags), std::end(kCommandFlags), flag) !=
         std::end(kCommandFlags);
}

// One README row of a setting against the table: key and default as --help prints them.
void ExpectSettingRow(const Option& o, const std::string& key, const std::string& def) {
  EXPECT_EQ(key, o.key) << "README.md: " << o.flag << " has the wrong TOML key";
  EXPECT_EQ(def, config_internal::TomlValue(o, ServerOptions{}))
      << "README.md: " << o.flag << " (" << o.key << ") has the wrong default";
}

TEST(ConfigReadmeTest, FlagTableMatchesTheOptionTable) {
  std::vector<Row> rows = TableRows({"flag", "TOML key", "default", "meaning"});
  ASSERT_FALSE(rows.empty()) << "README.md: no table `flag | TOML key | default | meaning` "
                                "under ## Configuration";
  std::map<std::string, int> seen;  // flag -> rows naming it
  for (const Row& row : rows) {
    ASSERT_EQ(row.size(), 4u) << "README.md: a row without 4 cells: " << row[0];
    std::vector<std::string> flags = Flags(row[0]);
    ASSERT_FALSE(flags.empty()) << "README.md: a row without a flag: " << row[0];
    for (const std::string& flag : flags) ++seen[flag];
    std::string key = CodeCell(row[1]);
    std::string def = CodeCell(row[2]);
    const Option* o = config_internal::FindByFlag(flags[0]);
    if (o == nullptr) {
      EXPECT_TRUE(IsCommandFlag(flags[0])) << "README.md: " << flags[0] << " is no flag";
      EXPECT_EQ(key + def, "") << "README.md: " << flags[0] << " has no TOML key or default";
    } else {
      ExpectSettingRow(*o, key, def);
    }
    for (size_t i = 1; i < flags.size(); ++i) {
      EXPECT_TRUE(IsCommandFlag(flags[i])) << "README.md: " << flags[i] << " is no flag";
    }
  }
  for (const Option& o : config_internal::Options()) {
    EXPECT_EQ(seen[std::string(o.flag)], 1)
        << "README.md: " << o.flag << " (" << o.key << ") must have exactly one row";
  }
  for (std::string_view flag : kCommandFlags) {
    EXPECT_EQ(seen[std::string(flag)], 1) << "README.md: " << flag << " must be in one row";
  }
}

TEST(ConfigReadmeTest, NamespaceTableMatchesTheNamespaceKeys) {
  std::vector<Row> rows = TableRows({"key", "default", "meaning"});
  ASSERT_FALSE(rows.empty()) << "README.md: no table `key | default | meaning` "
                                "under ## Configuration";
  std::map<std::string, std::string> readme;  // key -> default
  for (const Row& row : rows) {
    ASSERT_EQ(row.size(), 3u) << "README.md: a row without 3 cells: " << row[0];
    std::string key = CodeCell(row[0]);
    EXPECT_FALSE(readme.contains(key)) << "README.md: namespace key " << key << " twice";
    readme[key] = CodeCell(row[1]);
  }
  std::map<std::string, std::string> code;
  for (const NamespaceKey& k : config_internal::NamespaceKeys()) {
    code[std::string(k.key)] = config_internal::TomlValue(k, NamespaceOptions{});
  }
  EXPECT_EQ(readme, code) << "README.md's [namespaces.NAME] keys or defaults";
}

// kCommandFlags is what the README test holds the keyless rows to, so each
// must really be a flag BuildOptions knows.
TEST(ConfigReadmeTest, CommandFlagsAreAccepted) {
  for (std::string_view flag : kCommandFlags) {
    std::string arg(flag);
    std::string file = "/nonexistent/ringcast.toml";
    char* argv[] = {arg.data(), arg.data(), file.data(), nullptr};
    ServerOptions options;
    ConfigResult r = BuildOptions(flag == "--config" ? 3 : 2, argv, &options);
    EXPECT_EQ(r.error.find("unknown flag"), std::string::npos) << flag << ": " << r.error;
  }
}

}  // namespace
}  // namespace ringcast::shard
