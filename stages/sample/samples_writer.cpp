#include "samples_writer.hpp"

#include <algorithm>
#include <filesystem>

#include "pipeline/gdal_io.hpp"
#include "pipeline/h5.hpp"
#include "pipeline/mpi.hpp"

namespace cropmap {

void writeSamplesParallel(const std::string& path, MPI_Comm comm, const SampleFileAttrs& a,
                          const std::vector<std::pair<std::string, SampleRowsOut>>& splits) {
  int rank = 0;
  CROPMAP_MPI(MPI_Comm_rank(comm, &rank));
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (rank == 0 && !parent.empty()) std::filesystem::create_directories(parent);
  // One temporary name for all ranks: rank 0 picks it.
  std::string tmp = rank == 0 ? gdal::temporaryName(path) : std::string();
  int len = static_cast<int>(tmp.size());
  CROPMAP_MPI(MPI_Bcast(&len, 1, MPI_INT, 0, comm));
  tmp.resize(static_cast<size_t>(len));
  CROPMAP_MPI(MPI_Bcast(tmp.data(), len, MPI_CHAR, 0, comm));
  {
    h5::File f = h5::File::create(tmp, comm);
    {  // every object closes before the file does
    h5::Group root = f.root();
    root.setAttr("format", "cropmap-samples");
    root.setAttr("format_version", std::int64_t(1));
    root.setAttr("level", a.level);
    root.setAttr("class_names", a.classNames);
    root.setAttr("class_weights", a.classWeights);
    root.setAttr("class_weights_inverse_frequency", a.inverseFrequency);
    root.setAttr("class_counts_train", a.trainCounts);
    root.setAttr("band_names", a.bandNames);
    root.setAttr("band_mean", a.bandMean);
    root.setAttr("band_std", a.bandStd);
    root.setAttr("periods", a.periods);
    root.setAttr("tiles", a.tiles);
    root.setAttr("seed", a.seed);
    root.setAttr("sampling", a.sampling);
    const hsize_t P = static_cast<hsize_t>(a.periodsCount), B = static_cast<hsize_t>(a.bandsCount);
    for (const auto& [name, s] : splits) {
      h5::Group g = root.createGroup(name);
      const hsize_t N = static_cast<hsize_t>(s.total);
      // Chunked along rows so that an empty split is valid and readers take slices cheaply.
      const hsize_t rowsPerChunk = std::max<hsize_t>(1, std::min<hsize_t>(N, 4096));
      auto ch = [&](std::vector<hsize_t> c) { return N > 0 ? c : std::vector<hsize_t>{}; };
      auto x = g.createDataset<float>("x", {N, P, B}, ch({rowsPerChunk, P, B}), 0.0f);
      auto y = g.createDataset<std::int16_t>("y", {N}, ch({rowsPerChunk}), -1);
      auto parcel = g.createDataset<std::int64_t>("parcel", {N}, ch({rowsPerChunk}), 0);
      auto tile = g.createDataset<std::int32_t>("tile", {N}, ch({rowsPerChunk}), -1);
      auto row = g.createDataset<std::int32_t>("row", {N}, ch({rowsPerChunk}), -1);
      auto col = g.createDataset<std::int32_t>("col", {N}, ch({rowsPerChunk}), -1);
      auto zone = g.createDataset<std::int32_t>("zone", {N}, ch({rowsPerChunk}), -1);
      auto fold = g.createDataset<std::int32_t>("fold", {N}, ch({rowsPerChunk}), -1);
      f.flush();
      // An empty split (e.g. no validation zones) has nothing to write; HDF5 has no
      // storage for a zero-sized contiguous dataset, so even an empty write fails.
      if (N == 0) continue;
      const hsize_t o = static_cast<hsize_t>(s.offset), n = static_cast<hsize_t>(s.n);
      const auto C = h5::Transfer::collective;
      x.write<float>({o, 0, 0}, {n, P, B}, s.x.data(), C);
      y.write<std::int16_t>({o}, {n}, s.y.data(), C);
      parcel.write<std::int64_t>({o}, {n}, s.parcel.data(), C);
      tile.write<std::int32_t>({o}, {n}, s.tile.data(), C);
      row.write<std::int32_t>({o}, {n}, s.row.data(), C);
      col.write<std::int32_t>({o}, {n}, s.col.data(), C);
      zone.write<std::int32_t>({o}, {n}, s.zone.data(), C);
      fold.write<std::int32_t>({o}, {n}, s.fold.data(), C);
    }
    }
    f.flush();
    f.close();
  }
  CROPMAP_MPI(MPI_Barrier(comm));
  if (rank == 0) gdal::commitFile(tmp, path);
  CROPMAP_MPI(MPI_Barrier(comm));
}

}  // namespace cropmap
