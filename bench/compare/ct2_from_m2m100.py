#!/usr/bin/env python3
"""Convert a Tessera / Hugging Face m2m_100 (NLLB) folder into a CTranslate2 model folder.

    ct2_from_m2m100.py MODEL_DIR OUT_DIR

MODEL_DIR holds config.json (upstream M2M100Config keys) and model.safetensors (float32, upstream
tensor names). OUT_DIR receives what CTranslate2's Translator loads: model.bin (TransformerSpec,
binary version 6, spec revision 7), config.json and shared_vocabulary.txt.

Only numpy is needed: safetensors is read by hand and model.bin is written by hand. The layout
and the variable names follow CTranslate2's python/ctranslate2/specs (model_spec.py,
transformer_spec.py) and its M2M100 loader (converters/transformers.py):
  * pre-norm Transformer, ReLU, no layernorm_embedding, final layer norm in encoder and decoder;
  * self-attention q/k/v fused into linear_0 (rows q, k, v), cross-attention q in linear_0 and
    k/v fused into linear_1, the output projection last;
  * sinusoidal positions stored explicitly: the M2M100 table (sin half then cos half, row
    padding_idx zeroed) with its first padding_idx + 1 rows dropped, because upstream numbers
    the first real token padding_idx + 1;
  * scale_embeddings = sqrt(d_model) when scale_embedding is set, else 1;
  * shared embeddings and a tied output projection stored once, the other names as aliases.
The vocabulary is synthetic ("<s>", "<pad>", "</s>", "<unk>", "t4", "t5", ...): token strings
only map ids both ways, the benchmark feeds ids. Weights stay float32; CTranslate2 quantizes to
int8 on load when asked for compute_type int8.
"""
import json
import math
import os
import struct
import sys

import numpy as np

BINARY_VERSION = 6
SPEC_NAME = "TransformerSpec"
SPEC_REVISION = 7
# Type ids of CTranslate2's DataType enum: float32, int8, int16, int32, float16, bfloat16.
TYPE_IDS = {np.dtype("float32"): 0, np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("int32"): 3}
RELU = 0  # common_spec.Activation.RELU
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]


def fail(message):
    sys.exit(f"ct2_from_m2m100: {message}")


class SafeTensors:
    """Reads tensors of a .safetensors file: u64 header length, JSON header, raw data."""

    DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None, "I64": np.int64}

    def __init__(self, path):
        with open(path, "rb") as f:
            header_len = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(header_len))
        header.pop("__metadata__", None)
        self.entries = header
        self.data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)

    def __contains__(self, name):
        return name in self.entries

    def get(self, name):
        if name not in self.entries:
            fail(f"model.safetensors has no tensor {name!r}")
        entry = self.entries[name]
        begin, end = entry["data_offsets"]
        raw = self.data[begin:end]
        if entry["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        elif entry["dtype"] in ("F32", "F16"):
            array = np.frombuffer(raw, dtype=self.DTYPES[entry["dtype"]]).astype(np.float32)
        else:
            fail(f"tensor {name!r} has dtype {entry['dtype']}, expected F32/F16/BF16")
        return array.reshape(entry["shape"])


def m2m100_positions(rows, dim, padding_idx):
    """The upstream sinusoidal table: sin of the first half of frequencies, then cos."""
    half = dim // 2
    step = math.log(10000.0) / (half - 1)
    freqs = np.exp(-step * np.arange(half, dtype=np.float64))
    angles = np.arange(rows, dtype=np.float64)[:, None] * freqs[None, :]
    table = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    if dim % 2 == 1:
        table = np.concatenate([table, np.zeros((rows, 1))], axis=1)
    table[padding_idx, :] = 0.0
    return table.astype(np.float32)


class SpecWriter:
    """Collects (name, value) variables and aliases and serializes them as model.bin."""

    def __init__(self):
        self.variables = {}
        self.aliases = {}

    def tensor(self, name, array):
        array = np.ascontiguousarray(array, dtype=np.float32)
        self.variables[name] = array

    def scalar(self, name, value, dtype):
        self.variables[name] = np.array(value, dtype=dtype)

    def flag(self, name, value):
        self.scalar(name, 1 if value else 0, np.int8)

    def alias(self, name, target):
        self.aliases[name] = target

    def write(self, path):
        def string(f, text):
            encoded = text.encode("utf-8")
            f.write(struct.pack("<H", len(encoded) + 1))
            f.write(encoded)
            f.write(b"\0")

        with open(path, "wb") as f:
            f.write(struct.pack("<I", BINARY_VERSION))
            string(f, SPEC_NAME)
            f.write(struct.pack("<I", SPEC_REVISION))
            f.write(struct.pack("<I", len(self.variables)))
            for name in sorted(self.variables):
                value = self.variables[name]
                string(f, name)
                f.write(struct.pack("<B", value.ndim))
                for dim in value.shape:
                    f.write(struct.pack("<I", dim))
                f.write(struct.pack("<B", TYPE_IDS[value.dtype]))
                f.write(struct.pack("<I", value.nbytes))
                f.write(value.astype(value.dtype.newbyteorder("<"), copy=False).tobytes())
            f.write(struct.pack("<I", len(self.aliases)))
            for name in sorted(self.aliases):
                string(f, name)
                string(f, self.aliases[name])


def convert(model_dir, out_dir):
    config_path = os.path.join(model_dir, "config.json")
    weights_path = os.path.join(model_dir, "model.safetensors")
    for path in (config_path, weights_path):
        if not os.path.isfile(path):
            fail(f"{path} does not exist")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    model_type = config.get("model_type", "m2m_100")
    if model_type != "m2m_100":
        fail(f"config.json: model_type {model_type!r} is not m2m_100")
    activation = config.get("activation_function", "relu")
    if activation != "relu":
        fail(f"config.json: activation_function {activation!r} (only relu is converted)")
    try:
        d_model = int(config["d_model"])
        vocab_size = int(config["vocab_size"])
        layers = {"encoder": int(config["encoder_layers"]), "decoder": int(config["decoder_layers"])}
        heads = {"encoder": int(config["encoder_attention_heads"]),
                 "decoder": int(config["decoder_attention_heads"])}
    except KeyError as missing:
        fail(f"config.json lacks {missing}")
    if heads["encoder"] != heads["decoder"]:
        fail("encoder and decoder attention heads differ (CTranslate2's TransformerSpec shares them)")
    pad_id = int(config.get("pad_token_id", 1))
    max_positions = int(config.get("max_position_embeddings", 1024))
    scale = math.sqrt(d_model) if config.get("scale_embedding", True) else 1.0
    tied = config.get("tie_word_embeddings", True)

    st = SafeTensors(weights_path)
    spec = SpecWriter()

    shared_name = next((n for n in ("model.shared.weight", "model.encoder.embed_tokens.weight",
                                    "model.decoder.embed_tokens.weight") if n in st), None)
    if shared_name is None:
        fail("model.safetensors has no model.shared.weight (nor embed_tokens)")
    shared = st.get(shared_name)
    if shared.shape != (vocab_size, d_model):
        fail(f"{shared_name} has shape {shared.shape}, config says ({vocab_size}, {d_model})")
    # Variables alias the one that sorts first, as CTranslate2's own converter does.
    spec.tensor("decoder/embeddings/weight", shared)
    spec.alias("encoder/embeddings_0/weight", "decoder/embeddings/weight")
    if tied or "lm_head.weight" not in st:
        spec.alias("decoder/projection/weight", "decoder/embeddings/weight")
    else:
        spec.tensor("decoder/projection/weight", st.get("lm_head.weight"))

    # CTranslate2 adds row i of its table to the i-th token; upstream adds row
    # padding_idx + 1 + i of its table, so the first padding_idx + 1 rows are dropped.
    offset = pad_id + 1
    positions = m2m100_positions(max_positions + offset, d_model, pad_id)[offset:]

    def linear(scope, prefix, bias=True):
        spec.tensor(f"{scope}/weight", st.get(f"{prefix}.weight"))
        if bias:
            spec.tensor(f"{scope}/bias", st.get(f"{prefix}.bias"))

    def fused(scope, prefixes):
        spec.tensor(f"{scope}/weight", np.concatenate([st.get(f"{p}.weight") for p in prefixes]))
        spec.tensor(f"{scope}/bias", np.concatenate([st.get(f"{p}.bias") for p in prefixes]))

    def norm(scope, prefix):
        spec.tensor(f"{scope}/gamma", st.get(f"{prefix}.weight"))
        spec.tensor(f"{scope}/beta", st.get(f"{prefix}.bias"))

    for part in ("encoder", "decoder"):
        src = f"model.{part}"
        spec.scalar(f"{part}/num_heads", heads[part], np.int16)
        spec.flag(f"{part}/pre_norm", True)
        spec.scalar(f"{part}/activation", RELU, np.int8)
        spec.scalar(f"{part}/scale_embeddings", scale, np.float32)
        spec.tensor(f"{part}/position_encodings/encodings", positions)
        norm(f"{part}/layer_norm", f"{src}.layer_norm")
        for i in range(layers[part]):
            layer, hf = f"{part}/layer_{i}", f"{src}.layers.{i}"
            attn = f"{hf}.self_attn"
            norm(f"{layer}/self_attention/layer_norm", f"{hf}.self_attn_layer_norm")
            fused(f"{layer}/self_attention/linear_0", [f"{attn}.q_proj", f"{attn}.k_proj", f"{attn}.v_proj"])
            linear(f"{layer}/self_attention/linear_1", f"{attn}.out_proj")
            if part == "decoder":
                cross = f"{hf}.encoder_attn"
                norm(f"{layer}/attention/layer_norm", f"{hf}.encoder_attn_layer_norm")
                linear(f"{layer}/attention/linear_0", f"{cross}.q_proj")
                fused(f"{layer}/attention/linear_1", [f"{cross}.k_proj", f"{cross}.v_proj"])
                linear(f"{layer}/attention/linear_2", f"{cross}.out_proj")
            norm(f"{layer}/ffn/layer_norm", f"{hf}.final_layer_norm")
            linear(f"{layer}/ffn/linear_0", f"{hf}.fc1")
            linear(f"{layer}/ffn/linear_1", f"{hf}.fc2")

    spec.flag("encoder/multi_query_attention", False)
    spec.scalar("encoder/embeddings_merge", 0, np.int8)
    spec.scalar("decoder/alignment_layer", -1, np.int16)
    spec.scalar("decoder/alignment_heads", 1, np.int16)
    spec.flag("decoder/alibi", False)
    spec.flag("decoder/alibi_use_positive_positions", False)
    spec.flag("decoder/scale_alibi", False)
    spec.flag("decoder/start_from_zero_embedding", False)

    os.makedirs(out_dir, exist_ok=True)
    spec.write(os.path.join(out_dir, "model.bin"))

    vocabulary = SPECIAL_TOKENS[:vocab_size] + [f"t{i}" for i in range(len(SPECIAL_TOKENS), vocab_size)]
    # One token per line: CTranslate2 reads shared_vocabulary.txt, and so does ct2_translate.
    with open(os.path.join(out_dir, "shared_vocabulary.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocabulary) + "\n")
    start_id = int(config.get("decoder_start_token_id", config.get("eos_token_id", 2)))
    ct2_config = {
        "add_source_bos": False,
        "add_source_eos": False,
        "bos_token": vocabulary[int(config.get("bos_token_id", 0))],
        "decoder_start_token": vocabulary[start_id],
        "eos_token": vocabulary[int(config.get("eos_token_id", 2))],
        "layer_norm_epsilon": float(config.get("layer_norm_eps", 1e-5)),
        "multi_query_attention": False,
        "unk_token": "<unk>",
    }
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(ct2_config, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    convert(sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    main()
