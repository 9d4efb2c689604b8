#include "parcel_votes.hpp"

#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "pipeline/gdal_io.hpp"
#include "pipeline/mpi.hpp"

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

// The parcel id of a register feature, exactly as `cropmap labels` burns it
// into the cube: labels.id_field as an integer (or a string of digits), or
// the feature id + 1 (0 marks "no parcel", and Shapefile FIDs start at 0).
std::int64_t parcelIdOf(OGRFeature& f, int idField, bool idIsString) {
  if (idField < 0) return f.GetFID() + 1;
  if (!f.IsFieldSetAndNotNull(idField)) return 0;
  if (!idIsString) return f.GetFieldAsInteger64(idField);
  const char* s = f.GetFieldAsString(idField);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s, &end, 10);
  return (!*s || *end || errno == ERANGE) ? 0 : v;
}

}  // namespace

std::int64_t writeParcelFile(const LabelsSection& labels, const std::vector<ParcelSummary>& summaries,
                             const std::vector<std::string>& classNames, const std::string& outPath) {
  if (labels.parcels.empty())
    throw UsageError("labels.parcels is not set: the parcel file needs the register the labels came from");
  const gdal::VectorLayer source = gdal::openLayer(labels.parcels, labels.layer);
  OGRLayer* in = source.layer;
  const std::string where = source.where();
  OGRFeatureDefn* defn = in->GetLayerDefn();
  int idField = -1;
  bool idIsString = false;
  if (!labels.id_field.empty()) {
    idField = gdal::fieldIndex(source, labels.id_field, "labels.id_field");
    idIsString = defn->GetFieldDefn(idField)->GetType() == OFTString;
  }

  std::unordered_map<std::int64_t, std::size_t> byId;
  byId.reserve(summaries.size());
  for (std::size_t i = 0; i < summaries.size(); ++i) byId.emplace(summaries[i].parcel, i);

  std::filesystem::create_directories(std::filesystem::path(outPath).parent_path());
  const std::string tmp = gdal::temporaryName(outPath);
  std::filesystem::remove(tmp);
  std::int64_t written = 0;
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
                           Added{"pred_pixels", OFTInteger64}}) {
      OGRFieldDefn field(a.name, a.type);
      gdal::checkOgr(layer->CreateField(&field), tmp + std::string(": create field ") + a.name);
    }
    OGRFeatureDefn* outDefn = layer->GetLayerDefn();
    const int base = defn->GetFieldCount();
    gdal::checkOgr(out->StartTransaction(), tmp + ": start transaction");
    in->ResetReading();
    for (OGRFeatureUniquePtr f(in->GetNextFeature()); f; f.reset(in->GetNextFeature())) {
      auto it = byId.find(parcelIdOf(*f, idField, idIsString));
      if (it == byId.end()) continue;
      const ParcelSummary& s = summaries[it->second];
      OGRFeatureUniquePtr o(OGRFeature::CreateFeature(outDefn));
      gdal::checkOgr(o->SetFrom(f.get(), TRUE), where + ": copy feature " + std::to_string(f->GetFID()));
      o->SetFID(OGRNullFID);
      o->SetField(base + 0, s.cls);
      o->SetField(base + 1, s.cls >= 0 && s.cls < static_cast<int>(classNames.size())
                                ? classNames[static_cast<std::size_t>(s.cls)].c_str()
                                : "");
      o->SetField(base + 2, s.share);
      o->SetField(base + 3, s.meanConfidence);
      o->SetField(base + 4, static_cast<GIntBig>(s.pixels));
      gdal::checkOgr(layer->CreateFeature(o.get()), tmp + ": write parcel " + std::to_string(s.parcel));
      ++written;
    }
    gdal::checkOgr(out->CommitTransaction(), tmp + ": commit");
    gdal::close(out, tmp);
    gdal::commitFile(tmp, outPath);
  } catch (...) {
    std::filesystem::remove(tmp);
    throw;
  }
  return written;
}

}  // namespace cropmap::mapping
