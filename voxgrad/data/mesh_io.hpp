#pragma once
// Reading triangle meshes from files: OBJ, OFF, STL (ASCII and binary) and
// PLY (ASCII and binary), and the other formats Open Asset Import Library
// (Debian's libassimp-dev) reads. Assimp stays inside mesh_io.cpp: no header
// of voxgrad's includes it.

#include <cstdint>
#include <string>

#include "voxgrad/data/mesh.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::data {

/// Files larger than this are refused before they are read (a guard against
/// a wrong path to a multi-gigabyte scan, not a format limit).
inline constexpr int64_t kMaxMeshFileBytes = int64_t{1} << 31;

/// Every triangle of every mesh in the file, with the file's node
/// transforms applied; polygons are triangulated, points and lines
/// dropped. Throws voxgrad::Error naming the path for a missing, empty,
/// oversized or unreadable file (with the reader's reason) and for a file
/// without triangles or with non-finite vertices (check_mesh).
/// ```cpp
/// TriangleMesh m = load_mesh("chair_0001.off");
/// ```
TriangleMesh load_mesh(const std::string& path);

/// Whether `path`'s extension is one load_mesh is meant for here
/// (.obj .off .stl .ply, any case): how a data folder tells meshes apart.
bool is_mesh_file(const std::string& path);

}  // namespace voxgrad::data

VOXGRAD_PUBLIC_END
