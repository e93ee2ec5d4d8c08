#pragma once
// A small command-line parser for the examples: typed flags with ranges,
// `--name value` or `--name=value`, generated --help, and errors that name
// the flag, the value given and the rule broken (never a crash).

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace voxgrad::examples {

///   int64_t steps = 1000;
///   ArgParser cli("voxel_vae", "Trains a VAE.");
///   cli.add("steps", &steps, "optimizer steps", 1, 1'000'000);
///   if (!cli.parse(argc, argv)) return 0;  // --help was printed
class ArgParser {
 public:
  ArgParser(std::string program, std::string summary);

  /// An integer flag whose value must lie in [min, max].
  void add(
      const std::string& name,
      int64_t* out,
      const std::string& help,
      int64_t min,
      int64_t max);
  /// A finite number in [min, max].
  void add(
      const std::string& name,
      double* out,
      const std::string& help,
      double min,
      double max);
  /// A string; `allowed`, when not empty, lists the only accepted values.
  void add(
      const std::string& name,
      std::string* out,
      const std::string& help,
      std::vector<std::string> allowed = {});
  /// A switch without value (`--quiet`).
  void add_switch(const std::string& name, bool* out, const std::string& help);

  /// Fills the outputs. Returns false after printing usage for --help/-h.
  /// Throws voxgrad::Error (unknown flag, missing or bad value, repeated
  /// flag), having left every output untouched.
  bool parse(int argc, const char* const* argv);
  /// Whether `name` appeared on the last parsed command line.
  bool given(const std::string& name) const {
    return given_.count(name) != 0;
  }
  std::string usage() const;

 private:
  struct Option {
    std::string name, help, default_text;
    bool takes_value = true;
    // Checks and converts the text, returning a deferred store so nothing
    // is written until the whole command line is known to be good.
    std::function<std::function<void()>(const std::string&)> parse;
  };
  void add_option(Option option);

  std::string program_, summary_;
  std::vector<Option> options_;
  std::set<std::string> given_;
};

/// Runs `body`, turning any exception into "<program>: error: <what>" on
/// stderr and exit status 1, so bad input never ends in a crash.
int run_main(const char* program, const std::function<int()>& body);

}  // namespace voxgrad::examples
