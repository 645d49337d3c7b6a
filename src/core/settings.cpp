#include "core/settings.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <fstream>
#include <regex>
#include <sstream>

#include <spdlog/fmt/fmt.h>
#include <toml++/toml.h>

namespace hyper {

// Levenshtein distance, for "did you mean" on unknown keys.
static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = 4;  // suggest only close matches
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

namespace {

std::string type_word(const SettingSpec& s) {
  switch (s.type) {
    case SettingType::Bool: return "true or false";
    case SettingType::Int: return "an integer";
    case SettingType::Float:
      if (!s.choices.empty()) return "a number or \"" + s.choices.front() + "\"";
      return "a number";
    case SettingType::String:
      if (!s.choices.empty()) {
        std::string out = "one of";
        for (const auto& c : s.choices) out += " \"" + c + "\"";
        return out;
      }
      return "a string";
    case SettingType::StringList: return "a list of strings";
  }
  return "?";
}

std::string describe_node(const toml::node& n) {
  if (n.is_table()) return "a table";
  if (n.is_array()) return "an array";
  if (n.is_string()) return "string \"" + *n.value<std::string>() + "\"";
  std::ostringstream os;
  n.visit([&](const auto& v) { os << v; });
  return os.str();
}

// For a line TOML cannot read: its text, and the fix when it is `key = value` with a bare word
// (text needs quotes; a switch is true or false, in lower case).
std::string parse_hint(const std::string& text, size_t line_no) {
  std::istringstream in(text);
  std::string line;
  for (size_t i = 0; i < line_no && std::getline(in, line); ++i) {}
  static const std::regex assignment(R"(^\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$)");
  std::smatch m;
  if (!std::regex_match(line, m, assignment)) return " in: " + line;
  const std::string key = m[1], value = m[2];
  static const std::regex switch_word("(yes|no|on|off|True|False|TRUE|FALSE)");
  if (std::regex_match(value, switch_word))
    return " in: " + line + " (a switch is written true or false: " + key + " = " +
           (value == "yes" || value == "on" || value[0] == 'T' ? "true" : "false") + ")";
  if (!value.empty() && value[0] == '[') return " in: " + line + " (each text in a list is in quotes: " + key + " = [\"a\", \"b\"])";
  return " in: " + line + " (text is written in quotes: " + key + " = \"" + value + "\")";
}

std::string unknown_key_message(const Schema& schema, const std::string& key) {
  std::vector<std::string> keys;
  for (const auto& s : schema.all()) keys.push_back(s.key);
  const std::string best = closest(key, keys);
  std::string msg = "unknown key '" + key + "'";
  if (!best.empty()) msg += " (did you mean '" + best + "'?)";
  return msg;
}

// Converts a TOML node to the spec's type, or explains why not.
SettingValue convert(const SettingSpec& s, const toml::node& n, const std::string& where) {
  auto fail = [&](const std::string& why) -> SettingValue {
    throw SettingsError(where + ": key '" + s.key + "' " + why);
  };
  auto wrong_type = [&]() {
    // The usual slip in a TOML file: text without quotes, or a switch written as text.
    std::string hint;
    if (s.type == SettingType::String && !n.is_string() && !n.is_table() && !n.is_array())
      hint = " (text is written in quotes: " + s.key.substr(s.key.rfind('.') + 1) + " = \"" + describe_node(n) + "\")";
    else if (s.type == SettingType::Bool && n.is_string())
      hint = " (a switch is written true or false, without quotes)";
    return fail("must be " + type_word(s) + ", got " + describe_node(n) + hint);
  };
  auto check_range = [&](double v) {
    if ((s.min && v < *s.min) || (s.max && v > *s.max)) {
      std::string range = s.min && s.max ? fmt::format("in [{}, {}]", *s.min, *s.max)
                          : s.min    ? fmt::format(">= {}", *s.min)
                                     : fmt::format("<= {}", *s.max);
      fail(fmt::format("must be {}{}, got {}", range, s.unit.empty() ? "" : " " + s.unit, v));
    }
  };
  switch (s.type) {
    case SettingType::Bool:
      if (!n.is_boolean()) return wrong_type();
      return *n.value<bool>();
    case SettingType::Int: {
      if (!n.is_integer()) return wrong_type();
      const int64_t v = *n.value<int64_t>();
      check_range(static_cast<double>(v));
      return v;
    }
    case SettingType::Float: {
      if (n.is_string()) {
        const std::string w = *n.value<std::string>();
        if (std::find(s.choices.begin(), s.choices.end(), w) != s.choices.end()) return w;
        return wrong_type();
      }
      if (!n.is_integer() && !n.is_floating_point()) return wrong_type();
      const double v = *n.value<double>();
      if (!std::isfinite(v)) fail("must be finite");
      check_range(v);
      return v;
    }
    case SettingType::String: {
      if (!n.is_string()) return wrong_type();
      std::string v = *n.value<std::string>();
      if (!s.choices.empty() &&
          std::find(s.choices.begin(), s.choices.end(), v) == s.choices.end())
        return wrong_type();
      return v;
    }
    case SettingType::StringList: {
      std::vector<std::string> out;
      if (n.is_string()) return std::vector<std::string>{*n.value<std::string>()};
      if (!n.is_array()) return wrong_type();
      for (const auto& item : *n.as_array()) {
        if (!item.is_string()) return wrong_type();
        out.push_back(*item.value<std::string>());
      }
      return out;
    }
  }
  return wrong_type();
}

// Reads "v = <text>" as TOML; a failure means the text is a bare string.
std::optional<toml::table> parse_scalar(const std::string& text) {
  try {
    return toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

}  // namespace

void Schema::add(SettingSpec spec) {
  if (find(spec.key)) throw std::logic_error("setting declared twice: " + spec.key);
  specs_.push_back(std::move(spec));
}

bool Schema::is_table(const std::string& name) const {
  return std::find(tables_.begin(), tables_.end(), name) != tables_.end();
}

const SettingSpec* Schema::find(const std::string& key) const {
  for (const auto& s : specs_)
    if (s.key == key) return &s;
  return nullptr;
}

std::vector<const SettingSpec*> Schema::section(const std::string& name) const {
  std::vector<const SettingSpec*> out;
  for (const auto& s : specs_)
    if (s.key.rfind(name + ".", 0) == 0) out.push_back(&s);
  return out;
}

std::string format_value(const SettingValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::string>) return "\"" + x + "\"";
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string out = "[";
          for (size_t i = 0; i < x.size(); ++i) out += (i ? ", \"" : "\"") + x[i] + "\"";
          return out + "]";
        } else return fmt::format("{}", x);
      },
      v);
}

std::string describe(const SettingSpec& s) {
  std::string out = s.help;
  if (!s.choices.empty() && s.type == SettingType::String) {
    out += " (";
    for (size_t i = 0; i < s.choices.size(); ++i) out += (i ? "|" : "") + s.choices[i];
    out += ")";
  }
  out += s.required ? " REQUIRED" : " [default: " + format_value(s.def) + "]";
  if (!s.unit.empty()) out += " (" + s.unit + ")";
  return out;
}

Settings::Settings(const Schema& schema) : schema_(schema) {
  for (const auto& s : schema.all()) {
    values_[s.key] = s.def;
    origins_[s.key] = "default";
  }
}

void Settings::load_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw SettingsError(path.string() + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  load_text(text.str(), path.string());
}

void Settings::load_text(const std::string& text, const std::string& where) {
  toml::table root;
  try {
    root = toml::parse(text, where);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw SettingsError(fmt::format("{}:{}:{}: {}{}", where, b.line, b.column, e.description(), parse_hint(text, b.line)));
  }
  // Walk nested tables; a leaf's dotted path is its key.
  std::function<void(const toml::table&, const std::string&)> walk =
      [&](const toml::table& t, const std::string& prefix) {
        for (const auto& [k, node] : t) {
          const std::string key = prefix.empty() ? std::string(k.str())
                                                 : prefix + "." + std::string(k.str());
          const SettingSpec* spec = schema_.find(key);
          if (prefix.empty() && schema_.is_table(key)) continue;  // its command reads it
          if (!spec && node.is_table()) {
            walk(*node.as_table(), key);
            continue;
          }
          if (!spec) throw SettingsError(where + ": " + unknown_key_message(schema_, key));
          values_[key] = convert(*spec, node, where);
          origins_[key] = "file " + where;
        }
      };
  walk(root, "");
}

void Settings::apply_assignment(const std::string& assignment, const std::string& origin) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw SettingsError(origin + " '" + assignment + "': expected section.key=value");
  apply_text(assignment.substr(0, eq), assignment.substr(eq + 1), origin + " " + assignment);
}

void Settings::apply_text(const std::string& key, const std::string& text,
                          const std::string& origin) {
  const SettingSpec* spec = schema_.find(key);
  if (!spec) throw SettingsError(origin + ": " + unknown_key_message(schema_, key));
  // Text for a string is taken literally ("01" stays "01"); everything else is read as TOML.
  if (spec->type == SettingType::String ||
      (spec->type == SettingType::StringList && (text.empty() || text.front() != '['))) {
    toml::value<std::string> v(text);
    values_[key] = convert(*spec, v, origin);
  } else if (auto parsed = parse_scalar(text)) {
    values_[key] = convert(*spec, *parsed->get("v"), origin);
  } else {
    toml::value<std::string> v(text);
    values_[key] = convert(*spec, v, origin);
  }
  origins_[key] = origin;
}

void Settings::apply_value(const std::string& key, SettingValue value, const std::string& origin) {
  const SettingSpec* spec = schema_.find(key);
  if (!spec) throw SettingsError(origin + ": " + unknown_key_message(schema_, key));
  // Route through the TOML checks so that flags obey the same ranges as files.
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          toml::array a;
          for (const auto& s : x) a.push_back(s);
          values_[key] = convert(*spec, a, origin);
        } else {
          toml::value<T> v(x);
          values_[key] = convert(*spec, v, origin);
        }
      },
      value);
  origins_[key] = origin;
}

const SettingValue& Settings::value(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("setting not declared: " + key);
  return it->second;
}

bool Settings::get_bool(const std::string& key) const { return std::get<bool>(value(key)); }
int64_t Settings::get_int(const std::string& key) const { return std::get<int64_t>(value(key)); }
std::string Settings::get_string(const std::string& key) const {
  return std::get<std::string>(value(key));
}
std::vector<std::string> Settings::get_list(const std::string& key) const {
  return std::get<std::vector<std::string>>(value(key));
}

double Settings::get_float(const std::string& key) const {
  const auto& v = value(key);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  throw std::logic_error("setting " + key + " holds a word, not a number");
}

bool Settings::is_word(const std::string& key, const std::string& word) const {
  const auto* s = std::get_if<std::string>(&value(key));
  return s && *s == word;
}

std::string Settings::origin(const std::string& key) const { return origins_.at(key); }

std::string Settings::to_toml(const std::vector<std::string>& sections) const {
  std::ostringstream os;
  for (const auto& name : sections) {
    os << "[" << name << "]\n";
    for (const SettingSpec* s : schema_.section(name)) {
      os << s->key.substr(name.size() + 1) << " = ";
      // TOML strings need escaping; toml++ prints a quoted, escaped value.
      if (const auto* str = std::get_if<std::string>(&value(s->key)))
        os << toml::value<std::string>(*str);
      else if (const auto* list = std::get_if<std::vector<std::string>>(&value(s->key))) {
        toml::array a;
        for (const auto& x : *list) a.push_back(x);
        os << a;
      } else
        os << format_value(value(s->key));
      os << "  # " << origins_.at(s->key) << "\n";
    }
    os << "\n";
  }
  return os.str();
}

}  // namespace hyper
