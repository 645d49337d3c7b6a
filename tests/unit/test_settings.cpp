#include <doctest/doctest.h>

#include <fstream>

#include "core/settings.hpp"
#include "support.hpp"

using namespace hyper;

namespace {
Schema schema() {
  Schema s;
  s.add({.key = "replay.speed", .type = SettingType::Float, .def = 1.0, .unit = "x", .help = "speed",
         .flag = "--speed", .min = 0.001, .max = 1000.0, .choices = {"max"}});
  s.add({.key = "replay.count", .type = SettingType::Int, .def = int64_t{-1}, .help = "count", .min = -1.0});
  s.add({.key = "replay.loop", .type = SettingType::Bool, .def = false, .help = "loop"});
  s.add({.key = "replay.endpoint", .type = SettingType::String, .def = std::string("tcp://127.0.0.1:5555"),
         .help = "endpoint"});
  s.add({.key = "replay.input", .type = SettingType::StringList, .def = std::vector<std::string>{}, .help = "in"});
  s.add({.key = "log.level", .type = SettingType::String, .def = std::string("info"), .help = "level",
         .choices = {"debug", "info"}});
  s.add({.key = "twin.noise.ar1", .type = SettingType::Float, .def = 0.3, .help = "nested"});
  return s;
}

std::filesystem::path write(const test::TempDir& d, const std::string& name, const std::string& text) {
  const auto p = d / name;
  std::ofstream(p) << text;
  return p;
}
}  // namespace

TEST_CASE("defaults, then file, then --set, then flags") {
  const Schema sc = schema();
  test::TempDir d;
  Settings s(sc);
  CHECK(s.get_float("replay.speed") == 1.0);
  CHECK(s.origin("replay.speed") == "default");
  const auto f = write(d, "c.toml",
                       "[replay]\nspeed = 4\ncount = 10\nloop = true\ninput = [\"a.nii\", \"b.nii\"]\n"
                       "[twin.noise]\nar1 = 0.5\n");
  s.load_file(f);
  CHECK(s.get_float("replay.speed") == 4.0);  // an integer is a fine number
  CHECK(s.get_int("replay.count") == 10);
  CHECK(s.get_bool("replay.loop"));
  CHECK(s.get_list("replay.input") == std::vector<std::string>{"a.nii", "b.nii"});
  CHECK(s.get_float("twin.noise.ar1") == 0.5);
  CHECK(s.origin("replay.count").find("c.toml") != std::string::npos);
  s.apply_assignment("replay.count=20");
  s.apply_assignment("replay.endpoint=tcp://10.0.0.1:6000");  // bare text is a string
  s.apply_assignment("replay.speed=max");
  CHECK(s.get_int("replay.count") == 20);
  CHECK(s.get_string("replay.endpoint") == "tcp://10.0.0.1:6000");
  CHECK(s.is_word("replay.speed", "max"));
  CHECK_THROWS_AS(s.get_float("replay.speed"), std::logic_error);
  s.apply_text("replay.speed", "2.5", "flag --speed");
  CHECK(s.get_float("replay.speed") == 2.5);
  CHECK(s.origin("replay.speed") == "flag --speed");
}

TEST_CASE("an unknown key names the key, the file and a close match") {
  const Schema sc = schema();
  test::TempDir d;
  Settings s(sc);
  const auto f = write(d, "typo.toml", "[replay]\nsped = 2\n");
  CHECK_THROWS_WITH_AS(s.load_file(f),
                       doctest::Contains((f.string() + ": unknown key 'replay.sped' (did you mean 'replay.speed'?)").c_str()),
                       SettingsError);
  CHECK_THROWS_WITH_AS(s.apply_assignment("nope.key=1"), doctest::Contains("unknown key 'nope.key'"), SettingsError);
}

TEST_CASE("wrong types and ranges name the key and where the value came from") {
  const Schema sc = schema();
  test::TempDir d;
  Settings s(sc);
  const auto f = write(d, "types.toml", "[replay]\ncount = \"ten\"\n");
  CHECK_THROWS_WITH_AS(s.load_file(f),
                       doctest::Contains((f.string() + ": key 'replay.count' must be an integer, got string \"ten\"").c_str()),
                       SettingsError);
  CHECK_THROWS_WITH_AS(s.apply_assignment("replay.count=1.5"), doctest::Contains("'replay.count' must be an integer"),
                       SettingsError);
  CHECK_THROWS_WITH_AS(s.apply_assignment("replay.count=-2"), doctest::Contains("must be >= -1"), SettingsError);
  CHECK_THROWS_WITH_AS(s.apply_assignment("replay.speed=fast"), doctest::Contains("a number or \"max\""),
                       SettingsError);
  CHECK_THROWS_WITH_AS(s.apply_assignment("replay.speed=0"), doctest::Contains("in [0.001, 1000]"), SettingsError);
  CHECK_THROWS_WITH_AS(s.apply_assignment("replay.loop=yes"), doctest::Contains("true or false"), SettingsError);
  CHECK_THROWS_WITH_AS(s.apply_assignment("log.level=loud"), doctest::Contains("one of \"debug\" \"info\""),
                       SettingsError);
  CHECK_THROWS_WITH_AS(s.apply_assignment("replay.count"), doctest::Contains("expected section.key=value"),
                       SettingsError);
  CHECK(s.get_int("replay.count") == -1);  // nothing was changed by the failures
}

TEST_CASE("a TOML syntax error gives file, line and column") {
  const Schema sc = schema();
  test::TempDir d;
  Settings s(sc);
  const auto f = write(d, "broken.toml", "[replay]\nspeed = = 2\n");
  CHECK_THROWS_WITH_AS(s.load_file(f), doctest::Contains((f.string() + ":2:").c_str()), SettingsError);
}

TEST_CASE("the usual TOML slips get their fix: text without quotes, a switch written yes, a number where text goes") {
  const Schema sc = schema();
  test::TempDir d;
  Settings s(sc);
  CHECK_THROWS_WITH_AS(s.load_file(write(d, "a.toml", "[replay]\nendpoint = tcp://10.0.0.2:5555\n")),
                       doctest::Contains("(text is written in quotes: endpoint = \"tcp://10.0.0.2:5555\")"), SettingsError);
  CHECK_THROWS_WITH_AS(s.load_file(write(d, "b.toml", "[replay]\nloop = yes\n")),
                       doctest::Contains("(a switch is written true or false: loop = true)"), SettingsError);
  CHECK_THROWS_WITH_AS(s.load_file(write(d, "c.toml", "[replay]\nloop = \"true\"\n")),
                       doctest::Contains("key 'replay.loop' must be true or false, got string \"true\" (a switch is written true or false, without quotes)"),
                       SettingsError);
  CHECK_THROWS_WITH_AS(s.load_file(write(d, "e.toml", "[replay]\nendpoint = 5555\n")),
                       doctest::Contains("key 'replay.endpoint' must be"), SettingsError);
  CHECK_THROWS_WITH_AS(s.load_file(write(d, "f.toml", "[replay]\nendpoint = 5555\n")),
                       doctest::Contains("(text is written in quotes: endpoint = \"5555\")"), SettingsError);
  CHECK_THROWS_WITH_AS(s.load_file(write(d, "g.toml", "[replay]\ninput = [a.nii]\n")),
                       doctest::Contains("(each text in a list is in quotes: input = [\"a\", \"b\"])"), SettingsError);
}

TEST_CASE("a required setting shows REQUIRED in --help instead of a default") {
  SettingSpec spec{.key = "train.out", .type = SettingType::String, .def = std::string(""), .help = "decoder file", .flag = "--out",
                   .required = true};
  CHECK(describe(spec) == "decoder file REQUIRED");
}

TEST_CASE("the resolved settings written as TOML read back to the same values") {
  const Schema sc = schema();
  test::TempDir d;
  Settings s(sc);
  s.apply_assignment("replay.count=7");
  s.apply_assignment("replay.speed=max");
  s.apply_assignment("replay.input=[\"x y.nii\", \"z\\\"q.nii\"]");
  s.apply_assignment("replay.endpoint=ipc:///tmp/a b");
  const auto f = write(d, "out.toml", s.to_toml({"replay", "log", "twin"}));
  Settings back(sc);
  back.load_file(f);
  CHECK(back.get_int("replay.count") == 7);
  CHECK(back.is_word("replay.speed", "max"));
  CHECK(back.get_list("replay.input") == std::vector<std::string>{"x y.nii", "z\"q.nii"});
  CHECK(back.get_string("replay.endpoint") == "ipc:///tmp/a b");
  CHECK(back.get_float("twin.noise.ar1") == 0.3);
}

TEST_CASE("describe gives help, default and unit") {
  const Schema sc = schema();
  CHECK(describe(*sc.find("replay.speed")) == "speed [default: 1] (x)");
  CHECK(describe(*sc.find("log.level")) == "level (debug|info) [default: \"info\"]");
}
