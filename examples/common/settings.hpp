#pragma once
// A table of a training program's settings, declared once and used four
// ways: as command-line flags, as JSON in a checkpoint, when reading that
// JSON back (validated, each error naming the field, value and rule), and
// when resuming (a flag given again must equal the saved value, except the
// "cadence" settings such as how often to log, which may change).
//
//   Settings<Config> s;
//   s.add_int("steps", "total steps", 1, 1000000, false,
//             [](Config& c) -> int64_t& { return c.steps; });
//   s.add_flags(cli, config);  ...  j = s.to_json(config);

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {

template <class Config>
class Settings {
 public:
  template <class T>
  using Ref = std::function<T&(Config&)>;

  void add_int(
      const char* flag,
      const char* help,
      int64_t min,
      int64_t max,
      bool cadence,
      Ref<int64_t> ref) {
    ints_.push_back({flag, help, min, max, cadence, std::move(ref)});
  }
  void add_double(
      const char* flag,
      const char* help,
      double min,
      double max,
      bool cadence,
      Ref<double> ref) {
    doubles_.push_back({flag, help, min, max, cadence, std::move(ref)});
  }
  void add_choice(
      const char* flag,
      const char* help,
      std::vector<std::string> choices,
      Ref<std::string> ref) {
    choices_.push_back({flag, help, std::move(choices), std::move(ref)});
  }

  /// A free-form string (a path); `cadence` as for add_int.
  void add_text(
      const char* flag, const char* help, bool cadence, Ref<std::string> ref) {
    texts_.push_back({flag, help, "", "", cadence, std::move(ref)});
  }

  /// What the settings imply, derived in every Config from_json and
  /// merge_resumed return (e.g. a list parsed from its text setting).
  void set_finish(std::function<void(Config&)> finish) {
    finish_ = std::move(finish);
  }

  /// Registers every setting as a flag writing into `config`.
  void add_flags(ArgParser& cli, Config& config) const {
    for (const auto& f : ints_)
      cli.add(f.flag, &f.ref(config), f.help, f.min, f.max);
    for (const auto& f : doubles_)
      cli.add(f.flag, &f.ref(config), f.help, f.min, f.max);
    for (const auto& f : choices_)
      cli.add(f.flag, &f.ref(config), f.help, f.choices);
    for (const auto& f : texts_)
      cli.add(f.flag, &f.ref(config), f.help);
  }

  /// {"steps": 1500, "lr_schedule": "cosine", ...} (dashes become '_').
  nlohmann::json to_json(const Config& config) const {
    Config c = config;
    nlohmann::json j = nlohmann::json::object();
    for (const auto& f : ints_)
      j[key(f.flag)] = f.ref(c);
    for (const auto& f : doubles_)
      j[key(f.flag)] = f.ref(c);
    for (const auto& f : choices_)
      j[key(f.flag)] = f.ref(c);
    for (const auto& f : texts_)
      j[key(f.flag)] = f.ref(c);
    return j;
  }

  /// Reads to_json()'s form; `where` prefixes errors ("checkpoint config").
  Config from_json(const nlohmann::json& j, const std::string& where) const {
    VOXGRAD_CHECK(
        j.is_object(), where, ": expected a JSON object, got ", j.type_name());
    Config c;
    auto shown = [&](const std::string& k) {
      return j.contains(k) ? j[k].dump() : std::string("nothing");
    };
    for (const auto& f : ints_) {
      const std::string k = key(f.flag);
      const bool ok = j.contains(k) && j[k].is_number_integer() &&
                      j[k].template get<int64_t>() >= f.min &&
                      j[k].template get<int64_t>() <= f.max;
      VOXGRAD_CHECK(
          ok, where, ": '", k, "' must be an integer in [", f.min, ", ", f.max,
          "] (got ", shown(k), ")");
      f.ref(c) = j[k].template get<int64_t>();
    }
    for (const auto& f : doubles_) {
      const std::string k = key(f.flag);
      const bool ok = j.contains(k) && j[k].is_number() &&
                      j[k].template get<double>() >= f.min &&
                      j[k].template get<double>() <= f.max;
      VOXGRAD_CHECK(
          ok, where, ": '", k, "' must be a number in [", f.min, ", ", f.max,
          "] (got ", shown(k), ")");
      f.ref(c) = j[k].template get<double>();
    }
    for (const auto& f : choices_) {
      const std::string k = key(f.flag);
      bool ok = false;
      for (const std::string& choice : f.choices)
        ok = ok || (j.contains(k) && j[k] == choice);
      VOXGRAD_CHECK(
          ok, where, ": '", k, "' must be one of ", join(f.choices), " (got ",
          shown(k), ")");
      f.ref(c) = j[k].template get<std::string>();
    }
    for (const auto& f : texts_) {
      const std::string k = key(f.flag);
      VOXGRAD_CHECK(
          j.contains(k) && j[k].is_string(), where, ": '", k,
          "' must be a string (got ", shown(k), ")");
      f.ref(c) = j[k].template get<std::string>();
    }
    if (finish_)
      finish_(c);
    return c;
  }

  /// The saved settings, with the cadence flags the user gave; any other
  /// flag given must equal the saved value (else voxgrad::Error naming the
  /// flag and both values).
  Config merge_resumed(
      const Config& saved, const Config& given, const ArgParser& cli) const {
    Config out = saved, g = given;
    merge(ints_, out, g, cli);
    merge(doubles_, out, g, cli);
    for (const auto& f : choices_)
      if (cli.given(f.flag) && f.ref(g) != f.ref(out))
        throw Error(differs(f.flag, f.ref(g), f.ref(out)));
    merge(texts_, out, g, cli);
    if (finish_)
      finish_(out);
    return out;
  }

 private:
  template <class T>
  struct Field {
    const char* flag;
    const char* help;
    T min, max;
    bool cadence;
    Ref<T> ref;
  };
  struct Choice {
    const char* flag;
    const char* help;
    std::vector<std::string> choices;
    Ref<std::string> ref;
  };

  static std::string key(const char* flag) {
    std::string k = flag;
    for (char& ch : k)
      if (ch == '-')
        ch = '_';
    return k;
  }
  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v)
      s += (s.empty() ? "" : ", ") + x;
    return s;
  }
  template <class A, class B>
  static std::string differs(const char* flag, const A& now, const B& was) {
    std::ostringstream os;
    os << "--" << flag << " " << now << " differs from the checkpoint's " << was
       << "; a resumed run continues the saved run with its settings "
       << "(omit --" << flag << " or pass the saved value)";
    return os.str();
  }
  template <class T>
  static void merge(
      const std::vector<Field<T>>& fields,
      Config& out,
      Config& given,
      const ArgParser& cli) {
    for (const auto& f : fields) {
      if (!cli.given(f.flag))
        continue;
      if (f.cadence)
        f.ref(out) = f.ref(given);
      else if (f.ref(given) != f.ref(out))
        throw Error(differs(f.flag, f.ref(given), f.ref(out)));
    }
  }

  std::vector<Field<int64_t>> ints_;
  std::vector<Field<double>> doubles_;
  std::vector<Choice> choices_;
  std::vector<Field<std::string>> texts_;
  std::function<void(Config&)> finish_;
};

}  // namespace voxgrad::examples
