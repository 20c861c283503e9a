#pragma once
// Synthetic activations from a planted sparse dictionary: each row is a sum of a few random
// unit directions with positive coefficients, plus a little noise. An SAE that works finds
// those directions among its decoder rows.
#include <cmath>
#include <random>
#include <vector>

namespace tessera::interp::testing {

struct PlantedData {
  int64_t d = 0, atoms = 0;
  std::vector<float> directions;  // [atoms, d], unit rows
  std::vector<float> rows;        // [N, d]
};

inline PlantedData planted_dictionary(int64_t d, int64_t atoms, int64_t active, int64_t N,
                                      uint32_t seed, float noise = 0.01f) {
  PlantedData p;
  p.d = d;
  p.atoms = atoms;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> coeff(0.5f, 1.5f);
  p.directions.resize(atoms * d);
  for (int64_t a = 0; a < atoms; ++a) {
    double sq = 0;
    for (int64_t i = 0; i < d; ++i) {
      p.directions[a * d + i] = normal(rng);
      sq += p.directions[a * d + i] * p.directions[a * d + i];
    }
    for (int64_t i = 0; i < d; ++i) p.directions[a * d + i] /= static_cast<float>(std::sqrt(sq));
  }
  p.rows.assign(N * d, 0.0f);
  std::uniform_int_distribution<int64_t> pick(0, atoms - 1);
  for (int64_t r = 0; r < N; ++r) {
    for (int64_t j = 0; j < active; ++j) {
      const int64_t a = pick(rng);
      const float c = coeff(rng);
      for (int64_t i = 0; i < d; ++i) p.rows[r * d + i] += c * p.directions[a * d + i];
    }
    for (int64_t i = 0; i < d; ++i) p.rows[r * d + i] += noise * normal(rng);
  }
  return p;
}

// Fraction of planted directions whose best-matching decoder row has cosine > threshold.
inline double recovered_fraction(const PlantedData& p, const std::vector<float>& W_dec, int64_t n,
                                 double threshold = 0.9) {
  int64_t found = 0;
  for (int64_t a = 0; a < p.atoms; ++a) {
    double best = -1;
    for (int64_t l = 0; l < n; ++l) {
      double dot = 0, sq = 0;
      for (int64_t i = 0; i < p.d; ++i) {
        dot += static_cast<double>(p.directions[a * p.d + i]) * W_dec[l * p.d + i];
        sq += static_cast<double>(W_dec[l * p.d + i]) * W_dec[l * p.d + i];
      }
      if (sq > 0) best = std::max(best, dot / std::sqrt(sq));
    }
    found += best > threshold;
  }
  return static_cast<double>(found) / static_cast<double>(p.atoms);
}

}  // namespace tessera::interp::testing
