#include "voxgrad/data/mesh_io.hpp"

#include <assimp/postprocess.h>
#include <assimp/scene.h>

#include <algorithm>
#include <assimp/Importer.hpp>
#include <cctype>
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
  Assimp::Importer importer;
  // Triangulate polygons; drop assimp's optional steps (normals, UVs...).
  const aiScene* scene = importer.ReadFile(
      path, aiProcess_Triangulate | aiProcess_JoinIdenticalVertices |
                aiProcess_SortByPType);
  VOXGRAD_CHECK(
      scene != nullptr, "load_mesh: cannot read '", path,
      "': ", importer.GetErrorString());
  TriangleMesh mesh;
  collect(*scene, mesh);
  check_mesh(mesh, "load_mesh: '" + path + "'");
  return mesh;
}

}  // namespace voxgrad::data
