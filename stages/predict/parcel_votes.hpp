// Parcel-level results of a crop map: the majority class of every parcel, its
// share of the parcel's mapped pixels and the parcel's mean confidence.
//
// Memory is bounded by the number of parcels, not pixels: every rank keeps per
// parcel one count per class and a confidence sum while it maps its blocks.
// The per-rank tables are then reduced by parcel owner (ownerOf in pipeline/mpi, one
// all-to-all), so no rank ever holds every parcel's class counts; only the
// small per-parcel summaries are gathered on the writing rank. Counts and sums
// are integers, so the result does not depend on how many ranks did the work.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "pipeline/config/labels.hpp"
#include "pipeline/grid.hpp"

namespace cropmap::mapping {

struct ParcelSummary {
  std::int64_t parcel = 0;
  int cls = -1;                // majority class (ties: the smaller id)
  std::int64_t pixels = 0;     // mapped pixels of the parcel
  double share = 0;            // majority votes / pixels
  double meanConfidence = 0;   // mean max posterior over the parcel's pixels, 0..1
};

class ParcelVotes {
 public:
  explicit ParcelVotes(int classes);

  int classes() const { return k_; }
  std::size_t parcels() const { return ids_.size(); }

  // Count n pixels: parcel id (0 = none, skipped), class (noData skipped, as
  // is any id >= classes), confidence byte (max posterior x 255).
  void add(const std::int64_t* parcel, const std::uint8_t* cls, const std::uint8_t* confidence, std::size_t n,
           std::uint8_t noData = 255);
  void merge(const ParcelVotes& other);

  // Flat int64 records [id, votes_0..votes_{K-1}, confidenceSum] for MPI.
  std::vector<std::int64_t> pack() const;
  void unpack(const std::int64_t* records, std::size_t values);
  std::size_t recordSize() const { return static_cast<std::size_t>(k_) + 2; }

  // One summary per parcel, sorted by parcel id.
  std::vector<ParcelSummary> summarise() const;

 private:
  std::size_t slot(std::int64_t id);
  int k_;
  std::unordered_map<std::int64_t, std::size_t> index_;
  std::vector<std::int64_t> ids_;
  std::vector<std::uint32_t> votes_;     // K per parcel
  std::vector<std::uint64_t> confSum_;   // sum of confidence bytes per parcel
};

// Collective over comm: reduces every rank's votes and returns the summaries
// of all parcels (sorted by id) on `root`, an empty vector elsewhere.
std::vector<ParcelSummary> reduceParcelVotes(const ParcelVotes& local, MPI_Comm comm, int root);

// A written class map (band 1 class, band 2 confidence byte, 255 no data) on its tile grid.
struct MappedTile {
  TileGrid grid;
  std::string path;
};

// What the parcel file holds, for the log.
struct ParcelFileCounts {
  std::int64_t written = 0;
  std::int64_t voted = 0;    // class from the parcel's own labelled pixels
  std::int64_t touched = 0;  // eroded away, too small, or not labelled: class of the pixels it touches
  std::int64_t none = 0;     // no mapped pixel under it: pred_class null
};

// Writes the parcel GeoPackage with every feature's geometry and attributes,
// plus pred_class, pred_name, pred_share, pred_conf, pred_pixels and
// pred_source. Parcel ids are matched the way the labels stage rasterised them
// (ParcelIdRule). Without `maps`: the features that received votes. With
// `maps`: every feature meeting a map's tile; one without votes (eroded away,
// smaller than a pixel, ignored or unknown code) takes the majority class of
// the map pixels its polygon touches (pred_source "touched"), or null with
// pred_source "no mapped pixel". Written under a temporary name and renamed.
ParcelFileCounts writeParcelFile(const LabelsSection& labels, const std::vector<ParcelSummary>& summaries,
                                 const std::vector<std::string>& classNames, const std::string& outPath,
                                 const std::vector<MappedTile>& maps = {});

}  // namespace cropmap::mapping
