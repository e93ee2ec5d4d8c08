#include "voxgrad/data/mesh_io.hpp"

#include <assimp/postprocess.h>
#include <assimp/scene.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <assimp/Importer.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "voxgrad/core/error.hpp"

namespace voxgrad::data {
namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return ext;
}

Vec3 apply(const aiMatrix4x4& m, const aiVector3D& v) {
  const double x = v.x, y = v.y, z = v.z;
  return {
      m.a1 * x + m.a2 * y + m.a3 * z + m.a4,
      m.b1 * x + m.b2 * y + m.b3 * z + m.b4,
      m.c1 * x + m.c2 * y + m.c3 * z + m.c4};
}

// Appends the triangles of every mesh instance in the node tree, each under
// its accumulated transform. An explicit stack: a hostile file's deep node
// chain cannot overflow the call stack.
void collect(const aiScene& scene, TriangleMesh& out) {
  std::vector<std::pair<const aiNode*, aiMatrix4x4>> stack;
  if (scene.mRootNode)
    stack.emplace_back(scene.mRootNode, scene.mRootNode->mTransformation);
  while (!stack.empty()) {
    const auto [node, transform] = stack.back();
    stack.pop_back();
    for (unsigned i = 0; i < node->mNumMeshes; ++i) {
      if (node->mMeshes[i] >= scene.mNumMeshes)
        continue;
      const aiMesh& mesh = *scene.mMeshes[node->mMeshes[i]];
      const auto base = static_cast<int64_t>(out.vertices.size());
      for (unsigned v = 0; v < mesh.mNumVertices; ++v)
        out.vertices.push_back(apply(transform, mesh.mVertices[v]));
      for (unsigned f = 0; f < mesh.mNumFaces; ++f) {
        const aiFace& face = mesh.mFaces[f];
        if (face.mNumIndices != 3)
          continue;  // points and lines bound no volume
        out.triangles.push_back(
            {base + face.mIndices[0], base + face.mIndices[1],
             base + face.mIndices[2]});
      }
    }
    for (unsigned c = 0; c < node->mNumChildren; ++c)
      stack.emplace_back(
          node->mChildren[c], transform * node->mChildren[c]->mTransformation);
  }
}

}  // namespace

bool is_mesh_file(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".obj" || ext == ".off" || ext == ".stl" || ext == ".ply";
}

namespace {

// NOTE [ Reading meshes in a child process ]
// Debian builds assimp with its internal assertions on, and an assertion
// that fails calls abort(): a malformed file (an OFF face with no indices,
// for one) would end the whole training run. So the reading happens in a
// fork()ed child, which sends the triangles back through a pipe; a child
// that crashes, or runs past kMeshReadSeconds, becomes a voxgrad::Error
// naming the file. The child only reads and writes, then _exit()s, and
// glibc's malloc is fork-safe, so forking from a worker thread is fine.
constexpr int kMeshReadSeconds = 300;

TriangleMesh read_with_assimp(const std::string& path) {
  Assimp::Importer importer;
  // Triangulate polygons; skip assimp's optional steps (normals, UVs...).
  const aiScene* scene = importer.ReadFile(
      path, aiProcess_Triangulate | aiProcess_JoinIdenticalVertices |
                aiProcess_SortByPType);
  VOXGRAD_CHECK(
      scene != nullptr, "load_mesh: cannot read '", path,
      "': ", importer.GetErrorString());
  TriangleMesh mesh;
  collect(*scene, mesh);
  return mesh;
}

void append_raw(std::string& out, const void* p, size_t n) {
  out.append(static_cast<const char*>(p), n);
}

// 'M', vertex count, triangle count, the doubles, the indices; or 'E' and
// an error message.
std::string encode(const TriangleMesh& m) {
  std::string out = "M";
  const uint64_t nv = m.vertices.size(), nt = m.triangles.size();
  append_raw(out, &nv, 8);
  append_raw(out, &nt, 8);
  append_raw(out, m.vertices.data(), nv * sizeof(Vec3));
  append_raw(out, m.triangles.data(), nt * sizeof(m.triangles[0]));
  return out;
}

TriangleMesh decode(const std::string& b, const std::string& path) {
  VOXGRAD_CHECK(
      b.size() >= 17 && b[0] == 'M', "load_mesh: no mesh came back for '", path,
      "'");
  uint64_t nv = 0, nt = 0;
  std::memcpy(&nv, b.data() + 1, 8);
  std::memcpy(&nt, b.data() + 9, 8);
  VOXGRAD_CHECK(
      nv <= b.size() / sizeof(Vec3) && nt <= b.size() / 24 &&
          b.size() == 17 + nv * sizeof(Vec3) + nt * 24,
      "load_mesh: a garbled mesh came back for '", path, "'");
  TriangleMesh m;
  m.vertices.resize(nv);
  m.triangles.resize(nt);
  // An empty vector's data() may be null, and memcpy(nullptr, ..., 0) is UB.
  if (nv > 0)
    std::memcpy(m.vertices.data(), b.data() + 17, nv * sizeof(Vec3));
  if (nt > 0)
    std::memcpy(m.triangles.data(), b.data() + 17 + nv * sizeof(Vec3), nt * 24);
  return m;
}

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    done += static_cast<size_t>(n);
  }
}

std::string signal_text(int sig) {
  const char* name = ::strsignal(sig);
  return std::string(name ? name : "signal") + " (" + std::to_string(sig) + ")";
}

}  // namespace

TriangleMesh load_mesh(const std::string& path) {
  std::error_code ec;
  VOXGRAD_CHECK(
      std::filesystem::is_regular_file(path, ec), "load_mesh: '", path,
      "' is not a readable file");
  const auto bytes = std::filesystem::file_size(path, ec);
  VOXGRAD_CHECK(
      !ec && bytes > 0, "load_mesh: '", path, "' is empty or unreadable");
  VOXGRAD_CHECK(
      bytes <= static_cast<uintmax_t>(kMaxMeshFileBytes), "load_mesh: '", path,
      "' has ", bytes, " bytes, more than the limit of ", kMaxMeshFileBytes);
  int fds[2];
  VOXGRAD_CHECK(
      ::pipe(fds) == 0, "load_mesh: pipe() failed: ", std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    VOXGRAD_FAIL("load_mesh: fork() failed: ", std::strerror(errno));
  }
  if (pid == 0) {  // the child: read, send, leave without cleanup
    // A crash must end the child, not run the handlers the program
    // installed for itself (a test framework's, a crash reporter's).
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL})
      ::signal(sig, SIG_DFL);
    ::close(fds[0]);
    std::string msg;
    try {
      msg = encode(read_with_assimp(path));
    } catch (const std::exception& e) {
      msg = std::string("E") + e.what();
    }
    write_all(fds[1], msg);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[1 << 16];
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(kMeshReadSeconds);
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int r =
        ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      continue;
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out)
    ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  VOXGRAD_CHECK(
      !timed_out, "load_mesh: reading '", path, "' took more than ",
      kMeshReadSeconds, " s; stopped");
  VOXGRAD_CHECK(
      !WIFSIGNALED(status), "load_mesh: the mesh reader (assimp) crashed on '",
      path, "' with ", signal_text(WTERMSIG(status)),
      ": the file is malformed");
  if (!msg.empty() && msg[0] == 'E')
    throw Error(msg.substr(1));
  TriangleMesh mesh = decode(msg, path);
  check_mesh(mesh, "load_mesh: '" + path + "'");
  return mesh;
}

}  // namespace voxgrad::data
