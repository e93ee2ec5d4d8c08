#include "voxgrad/data/voxel_folder.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <ostream>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/data/binvox.hpp"
#include "voxgrad/data/file_bytes.hpp"
#include "voxgrad/data/mesh_io.hpp"

namespace voxgrad::data {
namespace fs = std::filesystem;
namespace {

constexpr const char* kManifestFormat = "voxgrad-voxel-cache";
constexpr int kManifestVersion = 1;

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// FNV-1a, 64 bits: cache keys, not security (a changed source changes the
// key with overwhelming probability).
uint64_t fnv1a(const std::string& bytes, uint64_t h = 0xcbf29ce484222325ULL) {
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

int64_t mtime_of(const std::string& path) {
  std::error_code ec;
  const auto t = fs::last_write_time(path, ec);
  return ec ? 0 : static_cast<int64_t>(t.time_since_epoch().count());
}

}  // namespace

const char* to_string(Split split) {
  return split == Split::Train ? "train" : "test";
}

bool is_voxel_source(const std::string& path) {
  const std::string ext = lower_extension(path);
  return is_mesh_file(path) || ext == ".binvox" || ext == ".npy" ||
         ext == ".npz";
}

VoxelGrid grid_from_file(const std::string& path, const VoxelFolderOptions& o) {
  const std::string ext = lower_extension(path);
  if (is_mesh_file(path)) {
    TriangleMesh mesh = load_mesh(path);
    if (o.up == UpAxis::Y)
      mesh = y_up_to_z_up(mesh);
    try {
      return voxelize(
          normalized(mesh, o.margin),
          {.resolution = o.resolution, .mode = o.mode, .solid = o.solid});
    } catch (const Error& e) {
      throw Error("'" + path + "': " + e.what());
    }
  }
  VoxelGrid g;
  if (ext == ".binvox")
    g = read_binvox(path).grid;
  else if (ext == ".npy")
    g = read_npy_grid(path, o.arrays);
  else if (ext == ".npz")
    g = read_npz_grid(path, o.arrays);
  else
    VOXGRAD_FAIL(
        "'", path,
        "' is neither a mesh (.obj .off .stl .ply) nor a grid (.binvox .npy "
        ".npz)");
  if (o.up == UpAxis::Y)
    g = y_up_to_z_up(g);
  try {
    return to_resolution(g, o.resolution);
  } catch (const Error& e) {
    throw Error("'" + path + "': " + e.what());
  }
}

VoxelFolder::VoxelFolder(std::string root, VoxelFolderOptions options)
    : root_(std::move(root)), options_(std::move(options)) {
  VOXGRAD_CHECK(
      options_.resolution >= 1 && options_.resolution <= 1024,
      "VoxelFolder: resolution must be in [1, 1024] (got ", options_.resolution,
      ")");
  VOXGRAD_CHECK(
      options_.margin >= 0 && options_.margin < 1,
      "VoxelFolder: margin must be in [0, 1) (got ", options_.margin, ")");
  VOXGRAD_CHECK(
      options_.test_fraction >= 0 && options_.test_fraction <= 1,
      "VoxelFolder: test_fraction must be in [0, 1] (got ",
      options_.test_fraction, ")");
  std::error_code ec;
  VOXGRAD_CHECK(
      fs::is_directory(root_, ec), "VoxelFolder: '", root_,
      "' is not a folder");
  struct Found {
    std::string rel, cls;
    int split;  // 0 train, 1 test, -1 none
  };
  std::vector<Found> found;
  const fs::path base(root_);
  fs::recursive_directory_iterator it(
      base, fs::directory_options::skip_permission_denied, ec);
  VOXGRAD_CHECK(!ec, "VoxelFolder: cannot list '", root_, "': ", ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    VOXGRAD_CHECK(
        !ec, "VoxelFolder: cannot list '", root_, "': ", ec.message());
    const fs::path& p = it->path();
    if (p.filename().string().rfind('.', 0) == 0) {
      if (it->is_directory(ec))
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || !is_voxel_source(p.string()))
      continue;
    const fs::path rel = fs::relative(p, base, ec);
    std::vector<std::string> parts;
    for (const auto& part : rel)
      parts.push_back(part.string());
    if (parts.size() < 2)
      continue;  // a file directly in root has no class
    int split = -1;
    for (size_t i = 1; i + 1 < parts.size(); ++i) {
      if (parts[i] == "train")
        split = 0;
      else if (parts[i] == "test")
        split = 1;
    }
    found.push_back({rel.generic_string(), parts[0], split});
  }
  VOXGRAD_CHECK(
      !found.empty(), "VoxelFolder: '", root_,
      "' holds no mesh (.obj .off .stl .ply) or grid (.binvox .npy .npz) in "
      "a class folder (expected root/<class>/[train|test/]<file>)");
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.rel < b.rel;
  });
  std::set<std::string> names;
  for (const Found& f : found) {
    names.insert(f.cls);
    own_split_ = own_split_ || f.split >= 0;
  }
  classes_.assign(names.begin(), names.end());
  for (const Found& f : found) {
    int split = f.split;
    if (!own_split_)
      split = static_cast<double>(fnv1a(f.rel) % 10000) <
                      options_.test_fraction * 10000
                  ? 1
                  : 0;
    else if (split < 0)
      split = 0;
    const auto label =
        std::lower_bound(classes_.begin(), classes_.end(), f.cls) -
        classes_.begin();
    items_[split].push_back({f.rel, label});
  }
}

int64_t VoxelFolder::size(Split split) const {
  return static_cast<int64_t>(items_[static_cast<int>(split)].size());
}

const VoxelItem& VoxelFolder::item(Split split, int64_t index) const {
  VOXGRAD_CHECK(
      index >= 0 && index < size(split), "VoxelFolder: ", to_string(split),
      " index must be in [0, ", size(split), ") (got ", index, ")");
  return items_[static_cast<int>(split)][static_cast<size_t>(index)];
}

std::string VoxelFolder::settings_key() const {
  const VoxelFolderOptions& o = options_;
  const nlohmann::json j = {
      {"resolution", o.resolution},
      {"mode", to_string(o.mode)},
      {"solid", to_string(o.solid)},
      {"margin", o.margin},
      {"up", o.up == UpAxis::Y ? "y" : "z"},
      {"threshold", o.arrays.threshold},
      {"axes", o.arrays.axes == ArrayAxes::XYZ ? "xyz" : "zyx"},
      {"npz_key", o.arrays.npz_key},
      {"cache_version", kManifestVersion}};
  return j.dump();
}

int64_t VoxelFolder::prepare(std::ostream* log) {
  const std::string dir = options_.cache_dir.empty() ? root_ + "/.voxgrad_cache"
                                                     : options_.cache_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  VOXGRAD_CHECK(
      fs::is_directory(dir, ec),
      "VoxelFolder: cannot create the cache folder '", dir,
      "' (give a writable one: the cache option, --cache in the examples)");
  const std::string settings = settings_key();
  const uint64_t settings_hash = fnv1a(settings);
  const std::string manifest_path =
      dir + "/manifest-" + hex(settings_hash) + ".json";
  nlohmann::json manifest;
  if (fs::exists(manifest_path, ec)) {
    try {
      manifest =
          nlohmann::json::parse(detail::read_bytes(manifest_path, 1 << 30));
      if (!manifest.is_object() ||
          manifest.value("format", "") != kManifestFormat ||
          manifest.value("settings", "") != settings ||
          !manifest.contains("entries") || !manifest["entries"].is_object())
        manifest = nlohmann::json();
    } catch (const std::exception&) {
      manifest = nlohmann::json();  // a damaged manifest is rebuilt
    }
  }
  if (manifest.is_null())
    manifest = {
        {"format", kManifestFormat},
        {"version", kManifestVersion},
        {"settings", settings},
        {"entries", nlohmann::json::object()}};

  // Work list: (split, index); each task writes only its own slot.
  std::vector<std::pair<int, int64_t>> work;
  for (int s = 0; s < 2; ++s) {
    grids_[s].assign(items_[s].size(), VoxelGrid());
    for (size_t i = 0; i < items_[s].size(); ++i)
      work.emplace_back(s, static_cast<int64_t>(i));
  }
  std::vector<nlohmann::json> entries(work.size());
  std::vector<uint8_t> made(work.size(), 0);
  const nlohmann::json& known = manifest["entries"];
  parallel_for(
      0, static_cast<int64_t>(work.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t w = b; w < e; ++w) {
          const auto [s, i] = work[static_cast<size_t>(w)];
          const VoxelItem& it = items_[s][static_cast<size_t>(i)];
          const std::string src = root_ + "/" + it.path;
          std::error_code fec;
          const auto size = static_cast<int64_t>(fs::file_size(src, fec));
          const int64_t mtime = mtime_of(src);
          VoxelGrid& g = grids_[s][static_cast<size_t>(i)];
          // A manifest hit: same size and modification time as when cached.
          if (known.contains(it.path)) {
            const nlohmann::json& k = known[it.path];
            const std::string file = dir + "/" + k.value("grid", "");
            if (k.value("size", int64_t{-1}) == size &&
                k.value("mtime", int64_t{-1}) == mtime &&
                fs::exists(file, fec)) {
              try {
                g = read_npy_grid(file);
                if (g.depth == options_.resolution && g.is_cube()) {
                  entries[static_cast<size_t>(w)] = k;
                  continue;
                }
              } catch (const Error&) {
                // unreadable cache file: make it again below
              }
            }
          }
          const std::string hash = hex(
              fnv1a(detail::read_bytes(src, kMaxMeshFileBytes), settings_hash));
          const std::string name = hash + ".npy";
          const std::string file = dir + "/" + name;
          bool cached = false;
          if (fs::exists(file, fec)) {
            try {
              g = read_npy_grid(file);
              cached = g.depth == options_.resolution && g.is_cube();
            } catch (const Error&) {
            }
          }
          if (!cached) {
            g = grid_from_file(src, options_);
            write_npy_grid(file, g);
            made[static_cast<size_t>(w)] = 1;
          }
          entries[static_cast<size_t>(w)] = {
              {"size", size}, {"mtime", mtime}, {"hash", hash}, {"grid", name}};
        }
      });
  nlohmann::json fresh = nlohmann::json::object();
  int64_t made_count = 0;
  for (size_t w = 0; w < work.size(); ++w) {
    const auto [s, i] = work[w];
    fresh[items_[s][static_cast<size_t>(i)].path] = entries[w];
    made_count += made[w];
  }
  manifest["entries"] = fresh;
  detail::write_bytes_atomic(manifest_path, manifest.dump(1) + "\n");
  if (log)
    *log << "data: " << root_ << ": " << classes_.size() << " classes, "
         << size(Split::Train) << " training and " << size(Split::Test)
         << " test items at " << options_.resolution << "^3 ("
         << to_string(options_.mode) << "); " << made_count
         << " made now, the rest from the cache " << dir << std::endl;
  return made_count;
}

const VoxelGrid& VoxelFolder::grid(Split split, int64_t index) const {
  (void)item(split, index);
  const auto& g = grids_[static_cast<int>(split)];
  VOXGRAD_CHECK(
      g.size() == items_[static_cast<int>(split)].size(),
      "VoxelFolder: call prepare() before reading grids");
  return g[static_cast<size_t>(index)];
}

Tensor VoxelFolder::batch(
    Split split, const std::vector<int64_t>& indices) const {
  const int64_t r = options_.resolution,
                n = static_cast<int64_t>(indices.size());
  std::vector<float> values(static_cast<size_t>(n * r * r * r));
  for (int64_t b = 0; b < n; ++b) {
    const VoxelGrid& g = grid(split, indices[static_cast<size_t>(b)]);
    std::copy(
        g.occupancy.begin(), g.occupancy.end(),
        values.begin() + static_cast<std::ptrdiff_t>(b * r * r * r));
  }
  return from_blob(values.data(), {n, 1, r, r, r});
}

Tensor VoxelFolder::range(Split split, int64_t begin, int64_t end) const {
  VOXGRAD_CHECK(
      0 <= begin && begin <= end && end <= size(split), "VoxelFolder: range [",
      begin, ", ", end, ") must lie in [0, ", size(split), "]");
  std::vector<int64_t> idx;
  for (int64_t i = begin; i < end; ++i)
    idx.push_back(i);
  return batch(split, idx);
}

}  // namespace voxgrad::data
