#pragma once
// PyTorch checkpoints (`torch.save(model.state_dict(), "pytorch_model.bin")`) without Python:
// the ZIP archive torch has written since 1.6 (<name>/data.pkl plus one <name>/data/<key> file per
// storage), and the subset of pickle (protocol 2 to 5) that such a state dict uses: dicts,
// OrderedDict, lists, tuples, numbers, strings, persistent storage ids and
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter. Nothing is ever executed: any other
// global (a class, a function) is rejected with an error naming it.
#include <map>
#include <string>

#include "tessera/core/io/zip_archive.h"
#include "tessera/core/tensor.h"

namespace tessera::io {

// Name -> tensor (in the stored dtype: f32, f64, f16, bf16, i64, i32, i8, u8; bool as u8).
// Nested dicts are flattened with '.' ("model" -> {"w": t} gives "model.w"); non-tensor leaves
// (ints, strings, None) are skipped. BadInput naming the file and the offending item otherwise.
std::map<std::string, Tensor> load_torch_state_dict(const std::string& path);
std::map<std::string, Tensor> read_torch_state_dict(const ZipArchive& archive);

}  // namespace tessera::io
