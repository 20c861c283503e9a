#pragma once
// The MatMul-free linear GRU token mixer (MLGRU) and GLU channel mixer of HGRN-Bit as released
// (mmfreelm/layers/hgrn_bit.py, models/hgrn_bit/modeling_hgrn_bit.py):
//   f_t = sigmoid(f_proj(x_t)), then f_t = lb + (1 - lb) * f_t on layers after the first,
//   i_t = silu(i_proj(x_t)) * (1 - f_t),
//   h_t = f_t * h_{t-1} + i_t                                   (the scan, mlgru_scan)
//   o_t = o_proj(rmsnorm(g_proj(x_t)) * silu(h_t))              (FusedRMSNormSwishGate)
// and the channel mixer down_proj(silu(a) * b) with [a, b] = gate_proj(x) split in halves.
// Every projection is a BitLinear.
#include "tessera/nn/bitlinear.h"

namespace tessera::nn {

enum class ScanForm {
  recurrent,  // one step after another: decoding
  chunked,    // chunks scanned independently, then joined by their carried states: training
};

// h_t = f_t * h_{t-1} + i_t along T for i, f [B, T, D] (f32 or f64); h0 [B, D] or undefined
// (zeros). Returns every h_t, [B, T, D]. Fused: owns its backward (a reverse scan):
//   g_t = dh_t + f_{t+1} g_{t+1},  di_t = g_t,  df_t = g_t h_{t-1},  dh0 = f_0 g_0.
Tensor mlgru_scan(const Tensor& i, const Tensor& f, const Tensor& h0 = Tensor(),
                  ScanForm form = ScanForm::chunked, int64_t chunk = 64);

struct MlgruTokenMixer {
  BitLinear i_proj, f_proj, g_proj, o_proj;
  Tensor g_norm_weight;  // [D], "g_norm.weight"
  double g_norm_eps = 1e-6;

  static MlgruTokenMixer create(int64_t hidden, double std, double norm_eps, Generator& gen);
  // x [B, T, hidden] (already normalised by the block); lower_bound [hidden] or undefined.
  // `state` [B, hidden] (optional) is the h carried in and is replaced by the last h_t.
  Tensor forward(const Tensor& x, const Tensor& lower_bound, Tensor* state = nullptr) const;
  void parameters(const std::string& prefix, ParameterRefs& out);
};

struct BitGluMlp {
  BitLinear gate_proj, down_proj;  // gate_proj: hidden -> 2 * intermediate
  static BitGluMlp create(int64_t hidden, int64_t intermediate, double std, Generator& gen);
  Tensor forward(const Tensor& x) const;
  void parameters(const std::string& prefix, ParameterRefs& out);
};

}  // namespace tessera::nn
