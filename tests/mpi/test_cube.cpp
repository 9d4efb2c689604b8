// The cube layer under real MPI ranks and parallel HDF5: collective creation,
// independent block writes from every rank, read-back from another rank,
// layers added to an existing cube, the ledger, and the checks that refuse
// misaligned writes.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <numeric>

#include "pipeline/cube.hpp"
#include "tests/mpi/mpi_test_support.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;

namespace {

// A directory every rank agrees on (rank 0 makes it).

CubeLayout smallLayout() {
  CubeLayout l;
  l.periods = {"2022-01-01", "2022-02-01", "2022-03-01"};
  l.periodEnds = {"2022-02-01", "2022-03-01", "2022-04-01"};
  l.bands = {"B04", "B08", "NDVI"};
  l.bandOffsets = {0, 0, -1};
  l.chunk = 16;
  l.configYaml = "run:\n  name: test\n";
  return l;
}

std::vector<TileGrid> smallTiles() {
  TileGrid a{"33UVP", "PROJCS[\"WGS 84 / UTM zone 33N\"]", 32633, {500000, 10, 0, 5400000, 0, -10}, 48, 40};
  TileGrid b{"32UPU", "PROJCS[\"WGS 84 / UTM zone 32N\"]", 32632, {600000, 10, 0, 5300000, 0, -10}, 32, 32};
  return {a, b};
}

// The value stored at (tile, p, b, row, col): distinct everywhere.
std::uint16_t pattern(int tile, int p, int b, int r, int c) {
  return static_cast<std::uint16_t>((tile * 7 + p * 3 + b) * 1000 + r * 50 + c);
}


}  // namespace

TEST(Cube, RoundTripAcrossRanks) {
  const std::string path = test::sharedDir("cube_roundtrip") + "/cube.h5";
  const auto layout = smallLayout();
  const auto tiles = smallTiles();
  {
    Cube cube = Cube::create(path, MPI_COMM_WORLD, layout, tiles);
    // Units dealt round-robin: rank r writes unit i when i % size == r.
    int unit = 0;
    for (size_t t = 0; t < tiles.size(); ++t) {
      for (const WorkUnit& u : makeUnits(std::vector<TileGrid>{tiles[t]}, 16)) {
        const Window w = u.window();
        if (unit++ % worldSize() != worldRank()) continue;
        std::vector<std::uint16_t> refl(static_cast<size_t>(3 * 3 * w.pixels()));
        std::vector<std::uint8_t> valid(static_cast<size_t>(3 * w.pixels()));
        size_t i = 0;
        for (int p = 0; p < 3; ++p)
          for (int b = 0; b < 3; ++b)
            for (int r = 0; r < w.rows; ++r)
              for (int c = 0; c < w.cols; ++c) refl[i++] = pattern(static_cast<int>(t), p, b, w.row0 + r, w.col0 + c);
        for (size_t k = 0; k < valid.size(); ++k) valid[k] = static_cast<std::uint8_t>((k + w.row0) % 7);
        cube.writeReflectance(tiles[t].name, w, refl.data());
        cube.writeValid(tiles[t].name, w, valid.data());
      }
    }
    cube.close();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  Cube cube = Cube::open(path, MPI_COMM_WORLD, false);
  EXPECT_EQ(cube.layout().periods, layout.periods);
  EXPECT_EQ(cube.layout().bands, layout.bands);
  EXPECT_EQ(cube.layout().bandOffsets, layout.bandOffsets);
  EXPECT_EQ(cube.layout().configYaml, layout.configYaml);
  EXPECT_EQ(cube.layout().fillValue, 65535);
  ASSERT_EQ(cube.tiles().size(), 2u);
  EXPECT_TRUE(cube.tiles()[0] == tiles[0]);
  EXPECT_TRUE(cube.tiles()[1] == tiles[1]);
  // Every rank reads whole tiles, including what other ranks wrote.
  for (size_t t = 0; t < tiles.size(); ++t) {
    const Window all{0, 0, tiles[t].height, tiles[t].width};
    std::vector<std::uint16_t> refl(static_cast<size_t>(9 * all.pixels()));
    cube.readReflectance(tiles[t].name, all, refl.data());
    size_t i = 0, wrong = 0;
    for (int p = 0; p < 3; ++p)
      for (int b = 0; b < 3; ++b)
        for (int r = 0; r < all.rows; ++r)
          for (int c = 0; c < all.cols; ++c) wrong += refl[i++] != pattern(static_cast<int>(t), p, b, r, c);
    EXPECT_EQ(wrong, 0u) << tiles[t].name;
  }
  cube.close();
}

TEST(Cube, LayersAndLedger) {
  const std::string path = test::sharedDir("cube_layers") + "/cube.h5";
  const auto tiles = smallTiles();
  const std::vector<WorkUnit> units = makeUnits(tiles, 16);
  {
    Cube cube = Cube::create(path, MPI_COMM_WORLD, smallLayout(), tiles);
    cube.createLedger("composite", units);
    for (size_t u = 0; u < units.size(); ++u)
      if (static_cast<int>(u) % worldSize() == worldRank() && u % 3 != 1) cube.markDone("composite", static_cast<std::int64_t>(u));
    cube.close();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  {
    // A later stage opens the cube for writing and adds its layers.
    Cube cube = Cube::open(path, MPI_COMM_WORLD, true);
    EXPECT_TRUE(cube.hasLedger("composite"));
    EXPECT_FALSE(cube.hasLedger("labels"));
    EXPECT_FALSE(cube.complete("composite"));
    auto back = cube.ledgerUnits("composite");
    ASSERT_EQ(back.size(), units.size());
    for (size_t u = 0; u < units.size(); ++u) {
      EXPECT_TRUE(back[u].sameBlock(units[u])) << u;
      EXPECT_EQ(back[u].index, static_cast<std::int64_t>(u));
    }
    auto done = cube.ledgerDone("composite");
    for (size_t u = 0; u < units.size(); ++u) EXPECT_EQ(done[u], u % 3 != 1 ? 1 : 0) << u;

    EXPECT_FALSE(cube.hasLayer("label"));
    cube.createLayer<std::int16_t>("label", -1);
    cube.createLayer<std::int64_t>("parcel", 0);
    EXPECT_TRUE(cube.hasLayer("label"));
    // Rank 0 labels the first block of the first tile only.
    const std::string t0 = tiles[0].name;
    if (worldRank() == 0) {
      std::vector<std::int16_t> lab(16 * 16, 5);
      cube.writeLayer<std::int16_t>(t0, "label", Window{0, 0, 16, 16}, lab.data());
      std::vector<std::int64_t> par(16 * 16, 123456789012LL);
      cube.writeLayer<std::int64_t>(t0, "parcel", Window{0, 0, 16, 16}, par.data());
    }
    // A misaligned window is refused with a message naming the tile.
    std::vector<std::int16_t> some(8 * 8, 1);
    try {
      cube.writeLayer<std::int16_t>(t0, "label", Window{8, 8, 8, 8}, some.data());
      ADD_FAILURE() << "misaligned write accepted";
    } catch (const h5::Error& e) {
      EXPECT_NE(std::string(e.what()).find("not aligned"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(t0), std::string::npos) << e.what();
    }
    cube.close();
  }
  MPI_Barrier(MPI_COMM_WORLD);
  Cube cube = Cube::open(path, MPI_COMM_WORLD, false);
  const Window all{0, 0, tiles[0].height, tiles[0].width};
  std::vector<std::int16_t> lab(static_cast<size_t>(all.pixels()));
  std::vector<std::int64_t> par(static_cast<size_t>(all.pixels()));
  cube.readLayer<std::int16_t>(tiles[0].name, "label", all, lab.data());
  cube.readLayer<std::int64_t>(tiles[0].name, "parcel", all, par.data());
  for (int r = 0; r < all.rows; ++r)
    for (int c = 0; c < all.cols; ++c) {
      const bool in = r < 16 && c < 16;
      ASSERT_EQ(lab[static_cast<size_t>(r * all.cols + c)], in ? 5 : -1) << r << "," << c;
      ASSERT_EQ(par[static_cast<size_t>(r * all.cols + c)], in ? 123456789012LL : 0) << r << "," << c;
    }
  cube.close();
  // The file opens with plain h5dump (rank 0 checks it once).
  if (worldRank() == 0) {
    auto r = test::runCommand("h5dump -A " + path);
    EXPECT_EQ(r.exitCode, 0) << r.output;
    EXPECT_NE(r.output.find("DATASET \"reflectance\""), std::string::npos);
    EXPECT_NE(r.output.find("DATASET \"label\""), std::string::npos);
    EXPECT_NE(r.output.find("cropmap-cube"), std::string::npos);
  }
}

TEST(Cube, ErrorsNameFileAndObject) {
  const std::string dir = test::sharedDir("cube_errors");
  try {
    Cube::open(dir + "/missing.h5", MPI_COMM_WORLD, false);
    ADD_FAILURE() << "opened a missing file";
  } catch (const h5::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.h5"), std::string::npos) << e.what();
  }
  // A plain HDF5 file that is not a cube.
  const std::string other = dir + "/other.h5";
  {
    h5::File f = h5::File::create(other, MPI_COMM_WORLD);
    f.root().setAttr("format", "something-else");
    f.close();
  }
  try {
    Cube::open(other, MPI_COMM_WORLD, false);
    ADD_FAILURE() << "opened a non-cube";
  } catch (const h5::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a cropmap cube"), std::string::npos) << e.what();
  }
  // Reading outside a dataset names the dataset and the window.
  Cube cube = Cube::create(dir + "/c.h5", MPI_COMM_WORLD, smallLayout(), smallTiles());
  std::vector<std::uint16_t> buf(3 * 3 * 16 * 16);
  try {
    cube.readReflectance("32UPU", Window{32, 0, 16, 16}, buf.data());
    ADD_FAILURE() << "read outside the extent";
  } catch (const h5::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/tiles/32UPU/reflectance"), std::string::npos) << e.what();
  }
  cube.close();
}

TEST(H5, EmptyListAttributesRoundTrip) {
  // Each rank its own file: an attribute may be a list of no values.
  const std::string dir = test::sharedDir("h5_empty_attrs");
  const std::string path = dir + "/r" + std::to_string(worldRank()) + ".h5";
  {
    h5::File f = h5::File::create(path, MPI_COMM_SELF);
    {
      h5::Group root = f.root();
      root.setAttr("none_d", std::vector<double>{});
      root.setAttr("none_i", std::vector<std::int64_t>{});
      root.setAttr("none_s", std::vector<std::string>{});
    }
    f.close();
  }
  h5::File f = h5::File::open(path, MPI_COMM_SELF, false);
  EXPECT_TRUE(f.root().attrDoubles("none_d").empty());
  EXPECT_TRUE(f.root().attrInts("none_i").empty());
  EXPECT_TRUE(f.root().attrStrings("none_s").empty());
}
