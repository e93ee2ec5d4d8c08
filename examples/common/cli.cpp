#include "cli.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {
namespace {

// Command-line mistakes are the user's, not the code's: the message names
// the flag, the value and the rule, without voxgrad's [file:line] suffix.
template <class... Parts>
void cli_check(bool ok, const Parts&... parts) {
  if (!ok)
    throw Error(detail::concat(parts...));
}

}  // namespace

ArgParser::ArgParser(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void ArgParser::add_option(Option option) {
  for (const Option& o : options_)
    VOXGRAD_ASSERT(o.name != option.name);
  options_.push_back(std::move(option));
}

void ArgParser::add(
    const std::string& name,
    int64_t* out,
    const std::string& help,
    int64_t min,
    int64_t max) {
  add_option(
      {name, help, std::to_string(*out), true,
       [name, out, min, max](const std::string& text) {
         errno = 0;
         char* end = nullptr;
         const long long v = std::strtoll(text.c_str(), &end, 10);
         cli_check(
             !text.empty() && *end == '\0' && errno == 0 && v >= min &&
                 v <= max,
             "--", name, ": expected an integer in [", min, ", ", max,
             "], got '", text, "'");
         return std::function<void()>([out, v] { *out = v; });
       }});
}

void ArgParser::add(
    const std::string& name,
    double* out,
    const std::string& help,
    double min,
    double max) {
  std::ostringstream def;
  def << *out;
  add_option(
      {name, help, def.str(), true,
       [name, out, min, max](const std::string& text) {
         errno = 0;
         char* end = nullptr;
         const double v = std::strtod(text.c_str(), &end);
         cli_check(
             !text.empty() && *end == '\0' && errno == 0 && std::isfinite(v) &&
                 v >= min && v <= max,
             "--", name, ": expected a number in [", min, ", ", max, "], got '",
             text, "'");
         return std::function<void()>([out, v] { *out = v; });
       }});
}

void ArgParser::add(
    const std::string& name,
    std::string* out,
    const std::string& help,
    std::vector<std::string> allowed) {
  std::string rule;
  for (const std::string& a : allowed)
    rule += (rule.empty() ? "" : ", ") + a;
  add_option(
      {name, help + (rule.empty() ? "" : " (" + rule + ")"), *out, true,
       [name, out, allowed, rule](const std::string& text) {
         bool ok = allowed.empty();
         for (const std::string& a : allowed)
           ok = ok || a == text;
         cli_check(
             ok, "--", name, ": expected one of ", rule, ", got '", text, "'");
         cli_check(!text.empty(), "--", name, ": expected a non-empty value");
         return std::function<void()>([out, text] { *out = text; });
       }});
}

void ArgParser::add_switch(
    const std::string& name, bool* out, const std::string& help) {
  add_option({name, help, "", false, [out](const std::string&) {
                return std::function<void()>([out] { *out = true; });
              }});
}

bool ArgParser::parse(int argc, const char* const* argv) {
  std::vector<std::function<void()>> stores;
  std::set<std::string> seen;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage();
      return false;
    }
    cli_check(
        arg.rfind("--", 0) == 0 && arg.size() > 2, "unexpected argument '", arg,
        "' (flags start with --; see --help)");
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Option* opt = nullptr;
    for (const Option& o : options_)
      if (o.name == name)
        opt = &o;
    cli_check(opt != nullptr, "unknown flag '--", name, "' (see --help)");
    cli_check(seen.insert(name).second, "--", name, ": given more than once");
    if (opt->takes_value && !inline_value) {
      cli_check(i + 1 < argc, "--", name, ": missing value");
      value = argv[++i];
    }
    cli_check(
        opt->takes_value || !inline_value, "--", name,
        ": takes no value, got '", value, "'");
    stores.push_back(opt->parse(value));
  }
  for (auto& store : stores)
    store();
  given_ = seen;
  return true;
}

std::string ArgParser::usage() const {
  std::ostringstream os;
  os << "usage: " << program_ << " [flags]\n" << summary_ << "\n\nflags:\n";
  for (const Option& o : options_) {
    std::string head = "  --" + o.name + (o.takes_value ? " V" : "");
    head.resize(std::max<size_t>(head.size() + 2, 24), ' ');
    os << head << o.help;
    if (o.takes_value)
      os << " [" << (o.default_text.empty() ? "none" : o.default_text) << "]";
    os << "\n";
  }
  os << "  --help                show this text\n";
  return os.str();
}

int run_main(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const nlohmann::json::exception& e) {
    // Every JSON the examples read is checked field by field; this guard
    // keeps a missed case from printing nlohmann's raw "[json.exception...]".
    std::string what = e.what();
    const size_t close = what.find("] ");
    if (what.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
      what = what.substr(close + 2);
    std::cerr << program << ": error: unexpected JSON content: " << what
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace voxgrad::examples
