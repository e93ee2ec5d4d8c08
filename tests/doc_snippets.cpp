// ctest docs_snippets_in_sync: every piece of C++ a reader can copy from the
// documentation is code the test suite compiles.
//   voxgrad_doc_snippets <source dir> <internal headers regex>
//
// The rule, over README.md, docs/*.md and the comments (// and ///) of every
// public header (the headers cmake/internal_headers.cmake does not list):
// * Every fenced block (```) says what it holds: ```cpp, ```sh, ```text, ...
// * A ```cpp block appears verbatim in a .cpp file under tests/ (not in
//   tests/compile_fail/, whose files must fail to compile). Lines are
//   compared without their leading and trailing blanks, so a test can put a
//   block inside a function or a namespace. That test compiles the block
//   and, where it prints, runs it.
// * A C++ block that deliberately is not compiled says so in its info
//   string: ```cpp nocompile (a fragment that needs a context no test has).
// * In a public header, a usage example is a fenced block: a group of
//   comment lines indented by two or more spaces (after "// " or "/// ")
//   outside a fence, other than the continuation of a list item, is an
//   error (the headers written before the rule have all been fenced, so
//   there are no exceptions).
// Prints every offender with its file and line, then a summary.

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos)
    return "";
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Each line trimmed, joined by '\n', with a '\n' at each end so that a
// search for a block matches whole lines only.
std::string normalized(const std::vector<std::string>& lines) {
  std::string out = "\n";
  for (const std::string& l : lines)
    out += trim(l) + "\n";
  return out;
}

struct Line {
  std::string text;  // without the comment marker, when from a header
  size_t number;     // 1-based, in the file
};

struct Report {
  std::vector<std::string> problems;
  size_t compiled = 0;
  size_t nocompile = 0;
  size_t other = 0;
};

// Checks the fenced blocks of `lines` (a page, or the comment text of a
// header); returns the line numbers outside any fence.
std::vector<const Line*> check_fences(
    const std::string& file,
    const std::vector<Line>& lines,
    const std::string& sources,
    Report& report) {
  std::vector<const Line*> outside;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trim(lines[i].text);
    if (!t.starts_with("```")) {
      outside.push_back(&lines[i]);
      continue;
    }
    const std::string where = file + ":" + std::to_string(lines[i].number);
    const std::string info = trim(std::string_view(t).substr(3));
    std::vector<std::string> block;
    size_t j = i + 1;
    while (j < lines.size() && trim(lines[j].text) != "```") {
      block.push_back(lines[j].text);
      ++j;
    }
    if (j == lines.size()) {
      report.problems.push_back(where + ": a ``` block is not closed");
      return outside;
    }
    i = j;
    const std::string first = block.empty() ? "" : trim(block.front());
    if (info.empty()) {
      report.problems.push_back(
          where +
          ": a ``` block without an info string: say what it holds "
          "(```cpp, ```sh, ```text, ...)");
    } else if (info == "cpp") {
      if (first.empty() && block.size() <= 1) {
        report.problems.push_back(where + ": an empty ```cpp block");
      } else if (sources.find(normalized(block)) == std::string::npos) {
        report.problems.push_back(
            where + ": this ```cpp block (starting \"" + first +
            "\") is in no test under tests/: copy it into one that compiles "
            "it (or, if it cannot compile, mark it ```cpp nocompile)");
      } else {
        ++report.compiled;
      }
    } else if (info == "cpp nocompile") {
      ++report.nocompile;
    } else if (
        info.starts_with("cpp") || info.starts_with("c++") ||
        info.starts_with("C++") || info.starts_with("cxx")) {
      report.problems.push_back(
          where + ": info string \"" + info +
          "\": C++ blocks are ```cpp (compiled) or ```cpp nocompile");
    } else {
      ++report.other;
    }
  }
  return outside;
}

// The comment text of a header: each run of // or /// lines, marker and one
// space removed. Code lines end a run (a fence never spans code).
std::vector<std::vector<Line>> comment_runs(const std::string& text) {
  static const std::regex comment(R"(^\s*///?(?: ?)(.*)$)");
  std::vector<std::vector<Line>> runs(1);
  const std::vector<std::string> lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_match(lines[i], m, comment)) {
      runs.back().push_back({m[1].str(), i + 1});
    } else if (!runs.back().empty()) {
      runs.emplace_back();
    }
  }
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: voxgrad_doc_snippets <source dir> <internal headers "
                 "regex>\n";
    return 2;
  }
  const fs::path root = argv[1];
  const std::regex internal(argv[2]);

  // Every compiled test source, normalized like the blocks.
  std::string sources;
  size_t source_count = 0;
  for (const auto& e : fs::recursive_directory_iterator(root / "tests")) {
    const fs::path rel = fs::relative(e.path(), root);
    if (e.is_regular_file() && e.path().extension() == ".cpp" &&
        !rel.string().starts_with("tests/compile_fail/")) {
      sources += normalized(split_lines(read_file(e.path())));
      ++source_count;
    }
  }

  Report report;
  std::vector<fs::path> pages = {root / "README.md"};
  for (const auto& e : fs::directory_iterator(root / "docs")) {
    if (e.path().extension() == ".md")
      pages.push_back(e.path());
  }
  std::sort(pages.begin() + 1, pages.end());
  for (const fs::path& page : pages) {
    std::vector<Line> lines;
    const std::vector<std::string> text = split_lines(read_file(page));
    for (size_t i = 0; i < text.size(); ++i)
      lines.push_back({text[i], i + 1});
    check_fences(fs::relative(page, root).string(), lines, sources, report);
  }

  std::vector<std::string> headers;
  for (const auto& e : fs::recursive_directory_iterator(root / "voxgrad")) {
    const std::string rel = fs::relative(e.path(), root).string();
    if (e.is_regular_file() && e.path().extension() == ".hpp" &&
        !std::regex_search("/" + rel, internal)) {
      headers.push_back(rel);
    }
  }
  std::sort(headers.begin(), headers.end());
  for (const std::string& h : headers) {
    for (const auto& run : comment_runs(read_file(root / h))) {
      const std::vector<const Line*> outside =
          check_fences(h, run, sources, report);
      // An example: a group of lines indented by two or more spaces (after
      // the marker and its space) that does not continue a list item.
      for (size_t i = 0; i < outside.size(); ++i) {
        const Line* l = outside[i];
        const bool indented =
            l->text.starts_with("  ") && !trim(l->text).empty();
        const Line* prev = i > 0 ? outside[i - 1] : nullptr;
        const bool group_start = !prev || prev->number + 1 != l->number ||
                                 !prev->text.starts_with("  ");
        if (!indented || !group_start)
          continue;
        const std::string before = prev ? trim(prev->text) : "";
        const bool list_item =
            prev && prev->number + 1 == l->number &&
            (before.starts_with("* ") || before.starts_with("- ") ||
             std::regex_search(
                 before, std::regex(R"(^(\d+|\([a-z]\))[.)]? )")));
        if (list_item)
          continue;
        report.problems.push_back(
            h + ":" + std::to_string(l->number) +
            ": an indented comment block outside a fence: put a usage "
            "example in a ```cpp block (compiled by a test) and other "
            "indented text in a ```text block");
      }
    }
  }

  for (const std::string& p : report.problems)
    std::cerr << p << "\n";
  std::cout << pages.size() << " pages and " << headers.size()
            << " public headers: " << report.compiled
            << " ```cpp blocks found in the " << source_count
            << " test sources, " << report.nocompile << " marked nocompile, "
            << report.other << " other blocks; " << report.problems.size()
            << " problems\n";
  return report.problems.empty() ? 0 : 1;
}
