#include "parcel_votes.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <gdal_alg.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "pipeline/gdal_io.hpp"
#include "pipeline/mpi.hpp"
#include "stages/labels/parcels.hpp"

namespace cropmap::mapping {

ParcelVotes::ParcelVotes(int classes) : k_(classes) {
  if (classes <= 0 || classes > 255) throw std::invalid_argument("ParcelVotes: classes must be in 1..255");
}

std::size_t ParcelVotes::slot(std::int64_t id) {
  auto [it, inserted] = index_.try_emplace(id, ids_.size());
  if (inserted) {
    ids_.push_back(id);
    votes_.resize(votes_.size() + static_cast<std::size_t>(k_), 0);
    confSum_.push_back(0);
  }
  return it->second;
}

void ParcelVotes::add(const std::int64_t* parcel, const std::uint8_t* cls, const std::uint8_t* confidence,
                      std::size_t n, std::uint8_t noData) {
  std::int64_t lastId = 0;
  std::size_t lastSlot = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (parcel[i] == 0 || cls[i] == noData || cls[i] >= k_) continue;
    // Pixels of one parcel come in runs along a row: skip the hash lookup.
    if (parcel[i] != lastId || ids_.empty()) {
      lastSlot = slot(parcel[i]);
      lastId = parcel[i];
    }
    votes_[lastSlot * static_cast<std::size_t>(k_) + cls[i]] += 1;
    confSum_[lastSlot] += confidence[i];
  }
}

void ParcelVotes::merge(const ParcelVotes& other) {
  if (other.k_ != k_) throw std::invalid_argument("ParcelVotes::merge: different class counts");
  unpack(other.pack().data(), other.parcels() * other.recordSize());
}

std::vector<std::int64_t> ParcelVotes::pack() const {
  std::vector<std::int64_t> out;
  out.reserve(ids_.size() * recordSize());
  for (std::size_t s = 0; s < ids_.size(); ++s) {
    out.push_back(ids_[s]);
    for (int c = 0; c < k_; ++c) out.push_back(votes_[s * static_cast<std::size_t>(k_) + static_cast<std::size_t>(c)]);
    out.push_back(static_cast<std::int64_t>(confSum_[s]));
  }
  return out;
}

void ParcelVotes::unpack(const std::int64_t* records, std::size_t values) {
  const std::size_t rs = recordSize();
  if (values % rs != 0) throw std::invalid_argument("ParcelVotes::unpack: truncated record");
  for (std::size_t r = 0; r < values / rs; ++r) {
    const std::int64_t* rec = records + r * rs;
    const std::size_t s = slot(rec[0]);
    for (int c = 0; c < k_; ++c)
      votes_[s * static_cast<std::size_t>(k_) + static_cast<std::size_t>(c)] += static_cast<std::uint32_t>(rec[1 + c]);
    confSum_[s] += static_cast<std::uint64_t>(rec[1 + k_]);
  }
}

std::vector<ParcelSummary> ParcelVotes::summarise() const {
  std::vector<ParcelSummary> out;
  out.reserve(ids_.size());
  for (std::size_t s = 0; s < ids_.size(); ++s) {
    const std::uint32_t* v = votes_.data() + s * static_cast<std::size_t>(k_);
    ParcelSummary p;
    p.parcel = ids_[s];
    std::uint32_t best = 0;
    for (int c = 0; c < k_; ++c) {
      p.pixels += v[c];
      if (v[c] > best) {  // strict: a tie keeps the smaller class id
        best = v[c];
        p.cls = c;
      }
    }
    if (p.pixels == 0) continue;
    p.share = static_cast<double>(best) / static_cast<double>(p.pixels);
    p.meanConfidence = static_cast<double>(confSum_[s]) / 255.0 / static_cast<double>(p.pixels);
    out.push_back(p);
  }
  std::sort(out.begin(), out.end(), [](const ParcelSummary& a, const ParcelSummary& b) { return a.parcel < b.parcel; });
  return out;
}

std::vector<ParcelSummary> reduceParcelVotes(const ParcelVotes& local, MPI_Comm raw, int root) {
  const Comm comm(raw);
  const std::size_t rs = local.recordSize();
  const std::vector<std::int64_t> records = local.pack();

  // 1. Every parcel's records go to its owner rank.
  std::vector<std::vector<std::int64_t>> outgoing(static_cast<std::size_t>(comm.size()));
  for (std::size_t r = 0; r < records.size() / rs; ++r) {
    auto& to = outgoing[static_cast<std::size_t>(ownerOf(static_cast<std::uint64_t>(records[r * rs]), comm.size()))];
    to.insert(to.end(), records.begin() + static_cast<std::ptrdiff_t>(r * rs),
              records.begin() + static_cast<std::ptrdiff_t>((r + 1) * rs));
  }
  const std::vector<std::int64_t> received = comm.exchange(outgoing, "predict: parcel votes");
  outgoing.clear();

  // 2. Owners reduce their parcels and summarise them.
  ParcelVotes owned(local.classes());
  owned.unpack(received.data(), received.size());
  std::vector<ParcelSummary> out = comm.gatherv(owned.summarise(), "predict: parcel summaries", root);
  std::sort(out.begin(), out.end(), [](const ParcelSummary& a, const ParcelSummary& b) { return a.parcel < b.parcel; });
  return out;
}


namespace {

// One map open for reading, with the transformation of register coordinates into its grid.
struct OpenMap {
  const MappedTile* tile = nullptr;
  gdal::Dataset ds;
  gdal::Transform toTile;
  std::array<double, 4> registerBounds{};  // the tile's extent in the register's CRS
};

// The polygon's majority class over the map pixels it touches (all-touched
// rasterization of the polygon in the tile CRS), or cls -1 when it touches no
// pixel with data.
ParcelSummary touchedPixels(OpenMap& m, const OGRGeometry& registerGeometry, const std::string& context) {
  ParcelSummary s;
  std::unique_ptr<OGRGeometry> g(registerGeometry.clone());
  if (g->transform(m.toTile.get()) != OGRERR_NONE) return s;
  OGREnvelope e;
  g->getEnvelope(&e);
  const auto& gt = m.tile->grid.geotransform;
  const int W = m.tile->grid.width, H = m.tile->grid.height;
  const int c0 = std::max(0, static_cast<int>(std::floor((e.MinX - gt[0]) / gt[1])));
  const int c1 = std::min(W, static_cast<int>(std::floor((e.MaxX - gt[0]) / gt[1])) + 1);
  const int r0 = std::max(0, static_cast<int>(std::floor((e.MaxY - gt[3]) / gt[5])));
  const int r1 = std::min(H, static_cast<int>(std::floor((e.MinY - gt[3]) / gt[5])) + 1);
  if (c0 >= c1 || r0 >= r1) return s;
  const int cols = c1 - c0, rows = r1 - r0;
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  gdal::Dataset burn(mem->Create("", cols, rows, 1, GDT_Byte, nullptr));
  if (!burn) throw std::runtime_error(context + ": cannot create an in-memory raster: " + gdal::lastError());
  double wgt[6] = {gt[0] + c0 * gt[1], gt[1], 0.0, gt[3] + r0 * gt[5], 0.0, gt[5]};
  gdal::check(burn->SetGeoTransform(wgt), context + ": set geotransform");
  int bandList[1] = {1};
  double value[1] = {1.0};
  OGRGeometryH h = OGRGeometry::ToHandle(g.get());
  CPLStringList options;
  options.SetNameValue("ALL_TOUCHED", "TRUE");
  gdal::check(GDALRasterizeGeometries(GDALDataset::ToHandle(burn.get()), 1, bandList, 1, &h, nullptr, nullptr, value,
                                      options.List(), nullptr, nullptr),
              context + ": rasterize");
  const size_t n = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  std::vector<std::uint8_t> mask(n), cls(n), conf(n);
  gdal::readWindow(burn->GetRasterBand(1), 0, 0, cols, rows, mask.data(), cols, rows, context);
  gdal::readWindow(m.ds->GetRasterBand(1), c0, r0, cols, rows, cls.data(), cols, rows, m.tile->path);
  gdal::readWindow(m.ds->GetRasterBand(2), c0, r0, cols, rows, conf.data(), cols, rows, m.tile->path);
  std::vector<std::int64_t> votes(256, 0);
  std::uint64_t confSum = 0;
  for (size_t i = 0; i < n; ++i)
    if (mask[i] && cls[i] != 255) {
      ++votes[cls[i]];
      confSum += conf[i];
      ++s.pixels;
    }
  if (s.pixels == 0) return s;
  s.cls = static_cast<int>(std::max_element(votes.begin(), votes.end()) - votes.begin());
  s.share = static_cast<double>(votes[static_cast<size_t>(s.cls)]) / static_cast<double>(s.pixels);
  s.meanConfidence = static_cast<double>(confSum) / (255.0 * static_cast<double>(s.pixels));
  return s;
}

bool meets(const std::array<double, 4>& b, const OGREnvelope& e) {
  return e.MinX <= b[2] && e.MaxX >= b[0] && e.MinY <= b[3] && e.MaxY >= b[1];
}

}  // namespace

ParcelFileCounts writeParcelFile(const LabelsSection& labels, const std::vector<ParcelSummary>& summaries,
                                 const std::vector<std::string>& classNames, const std::string& outPath,
                                 const std::vector<MappedTile>& maps) {
  if (labels.parcels.empty())
    throw UsageError("labels.parcels is not set: the parcel file needs the register the labels came from");
  const gdal::VectorLayer source = gdal::openLayer(labels.parcels, labels.layer);
  OGRLayer* in = source.layer;
  const std::string where = source.where();
  OGRFeatureDefn* defn = in->GetLayerDefn();
  const ParcelIdRule ids(source, labels);
  std::unique_ptr<OGRSpatialReference> registerSrs;
  std::vector<OpenMap> open;
  if (!maps.empty()) {
    if (!in->GetSpatialRef()) throw UsageError(where + ": the layer has no coordinate reference system");
    registerSrs.reset(in->GetSpatialRef()->Clone());
    registerSrs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    for (const auto& t : maps) {
      OpenMap m;
      m.tile = &t;
      m.ds = gdal::openRaster(t.path);
      auto tileSrs = gdal::srsFromWkt(t.grid.crsWkt);
      m.toTile = gdal::makeTransform(*registerSrs, *tileSrs, where + ": parcels to tile " + t.grid.name);
      auto back = gdal::makeTransform(*tileSrs, *registerSrs, where + ": tile " + t.grid.name + " to parcels");
      const auto& g = t.grid.geotransform;
      const double xa = g[0], xb = g[0] + t.grid.width * g[1], ya = g[3], yb = g[3] + t.grid.height * g[5];
      m.registerBounds = gdal::transformBounds(*back, {std::min(xa, xb), std::min(ya, yb), std::max(xa, xb), std::max(ya, yb)},
                                               where + ": tile " + t.grid.name);
      open.push_back(std::move(m));
    }
  }

  std::unordered_map<std::int64_t, std::size_t> byId;
  byId.reserve(summaries.size());
  for (std::size_t i = 0; i < summaries.size(); ++i) byId.emplace(summaries[i].parcel, i);

  std::filesystem::create_directories(std::filesystem::path(outPath).parent_path());
  const std::string tmp = gdal::temporaryName(outPath);
  std::filesystem::remove(tmp);
  ParcelFileCounts counts;
  try {
    auto out = gdal::createVector("GPKG", tmp);
    OGRLayer* layer = out->CreateLayer("parcels", in->GetSpatialRef(), in->GetGeomType(), nullptr);
    if (!layer) throw std::runtime_error(tmp + ": cannot create layer 'parcels': " + gdal::lastError());
    for (int i = 0; i < defn->GetFieldCount(); ++i) {
      OGRFieldDefn field(defn->GetFieldDefn(i));
      gdal::checkOgr(layer->CreateField(&field), tmp + ": create field " + field.GetNameRef());
    }
    struct Added {
      const char* name;
      OGRFieldType type;
    };
    for (const Added& a : {Added{"pred_class", OFTInteger}, Added{"pred_name", OFTString},
                           Added{"pred_share", OFTReal}, Added{"pred_conf", OFTReal},
                           Added{"pred_pixels", OFTInteger64}, Added{"pred_source", OFTString}}) {
      OGRFieldDefn field(a.name, a.type);
      gdal::checkOgr(layer->CreateField(&field), tmp + std::string(": create field ") + a.name);
    }
    OGRFeatureDefn* outDefn = layer->GetLayerDefn();
    const int base = defn->GetFieldCount();
    gdal::checkOgr(out->StartTransaction(), tmp + ": start transaction");
    in->ResetReading();
    for (OGRFeatureUniquePtr f(in->GetNextFeature()); f; f.reset(in->GetNextFeature())) {
      auto it = byId.find(ids.idOf(*f));
      ParcelSummary s;
      const char* from = "pixels";
      if (it != byId.end()) {
        s = summaries[it->second];
      } else {
        // Not voted for: written when it lies on a mapped tile, with the class
        // of the map pixels it touches.
        const OGRGeometry* g = f->GetGeometryRef();
        if (open.empty() || !g || g->IsEmpty()) continue;
        OGREnvelope e;
        g->getEnvelope(&e);
        bool onMap = false;
        from = "no mapped pixel";
        for (auto& m : open) {
          if (!meets(m.registerBounds, e)) continue;
          onMap = true;
          s = touchedPixels(m, *g, where + ": feature " + std::to_string(f->GetFID()));
          if (s.cls >= 0) {
            from = "touched";
            break;
          }
        }
        if (!onMap) continue;
      }
      OGRFeatureUniquePtr o(OGRFeature::CreateFeature(outDefn));
      gdal::checkOgr(o->SetFrom(f.get(), TRUE), where + ": copy feature " + std::to_string(f->GetFID()));
      o->SetFID(OGRNullFID);
      if (s.cls >= 0) {
        o->SetField(base + 0, s.cls);
        o->SetField(base + 1, s.cls < static_cast<int>(classNames.size()) ? classNames[static_cast<std::size_t>(s.cls)].c_str() : "");
        o->SetField(base + 2, s.share);
        o->SetField(base + 3, s.meanConfidence);
      } else {
        for (int k = 0; k < 4; ++k) o->SetFieldNull(base + k);
      }
      o->SetField(base + 4, static_cast<GIntBig>(s.pixels));
      o->SetField(base + 5, from);
      gdal::checkOgr(layer->CreateFeature(o.get()), tmp + ": write feature " + std::to_string(f->GetFID()));
      ++counts.written;
      if (it != byId.end()) ++counts.voted;
      else if (s.cls >= 0) ++counts.touched;
      else ++counts.none;
    }
    gdal::checkOgr(out->CommitTransaction(), tmp + ": commit");
    gdal::close(out, tmp);
    gdal::commitFile(tmp, outPath);
  } catch (...) {
    std::filesystem::remove(tmp);
    throw;
  }
  return counts;
}

}  // namespace cropmap::mapping
