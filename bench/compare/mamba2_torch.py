#!/usr/bin/env python3
"""Independent PyTorch reference for Tessera's Mamba-2 (bench/compare; torch 1.13 CPU, no
transformers needed).

Reads a transformers-layout Mamba-2 folder (config.json + model.safetensors, as `tessera init
--model-type mamba2` or `tessera convert` write it), runs Mamba2ForCausalLM in plain torch with
the chunked SSD of the paper's listing 1 (written here from the equations) and

  --ids "1 2 3" --logits tessera.npy   compares with `tessera forward` logits (max abs diff),
  --bench-prefill P --bench-decode N   times prefill (one forward over P tokens) and decode
                                       (N single-token recurrent steps), median of --repeats.
"""
import argparse
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if info["dtype"] == "BF16":
            raw = np.frombuffer(data[begin:end], dtype=np.uint16).astype(np.uint32) << 16
            array = raw.view(np.float32)
        else:
            array = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).astype(np.float32)
        out[name] = torch.from_numpy(array.reshape(info["shape"]).copy())
    return out


def segsum(a):
    """exp-able segment sums: out[..., i, j] = sum_{j<r<=i} a[..., r] for j <= i, -inf above."""
    T = a.size(-1)
    cs = torch.cumsum(a, dim=-1)
    out = cs[..., :, None] - cs[..., None, :]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=0)
    return out.masked_fill(~mask, -math.inf)


def ssd_chunked(x, dt, A, B, C, chunk, initial=None):
    """x [b, l, h, p], dt [b, l, h], A [h], B/C [b, l, h, n] (already expanded to heads)."""
    b, l, h, p = x.shape
    pad = (chunk - l % chunk) % chunk
    if pad:
        x, B, C = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (x, B, C))
        dt = F.pad(dt, (0, 0, 0, pad))
    c = x.size(1) // chunk
    x, B, C = (t.reshape(b, c, chunk, *t.shape[2:]) for t in (x, B, C))
    a = (dt * A).reshape(b, c, chunk, h).permute(0, 3, 1, 2)  # b h c q
    xdt = x * dt.reshape(b, c, chunk, h, 1)
    a_cum = torch.cumsum(a, dim=-1)
    L = torch.exp(segsum(a))  # b h c q q
    y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, L, xdt)
    decay_states = torch.exp(a_cum[..., -1:] - a_cum)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_states, xdt)
    if initial is None:
        initial = torch.zeros_like(states[:, :1])
    else:
        initial = initial[:, None]
    states = torch.cat([initial, states], dim=1)
    decay_chunk = torch.exp(segsum(F.pad(a_cum[..., -1], (1, 0))))  # b h c+1 c+1
    new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
    states, final = new_states[:, :-1], new_states[:, -1]
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, states, torch.exp(a_cum))
    y = (y_diag + y_off).reshape(b, c * chunk, h, p)[:, :l]
    return y, final


class Mamba2:
    def __init__(self, folder):
        self.cfg = json.load(open(f"{folder}/config.json"))
        self.w = load_safetensors(f"{folder}/model.safetensors")

    def mixer(self, l, u, state=None):
        c, w = self.cfg, self.w
        pre = f"backbone.layers.{l}.mixer."
        H, P, N, G, K = c["num_heads"], c["head_dim"], c["state_size"], c["n_groups"], c["conv_kernel"]
        inner = H * P
        zxbcdt = u @ w[pre + "in_proj.weight"].t()
        z, xbc, dt = torch.split(zxbcdt, [inner, inner + 2 * G * N, H], dim=-1)
        T = u.size(1)
        conv_in = xbc if state is None else torch.cat([state["conv"], xbc], dim=1)
        conv = F.conv1d(F.pad(conv_in.transpose(1, 2), (K - 1, 0)), w[pre + "conv1d.weight"],
                        w.get(pre + "conv1d.bias"), groups=conv_in.size(-1)).transpose(1, 2)
        conv = F.silu(conv[:, -T:])
        new_conv = conv_in[:, -(K - 1):]
        x, B, C = torch.split(conv, [inner, G * N, G * N], dim=-1)
        dt = F.softplus(dt + w[pre + "dt_bias"])
        A = -torch.exp(w[pre + "A_log"])
        b = u.size(0)
        x = x.reshape(b, T, H, P)
        B = B.reshape(b, T, G, N).repeat_interleave(H // G, dim=2)
        C = C.reshape(b, T, G, N).repeat_interleave(H // G, dim=2)
        if state is not None and T == 1:  # decoding: the recurrence, one step
            decay = torch.exp(dt[:, 0] * A)  # b h
            final = state["ssm"] * decay[:, :, None, None] + \
                (dt[:, 0, :, None] * x[:, 0])[..., None] * B[:, 0, :, None, :]
            y = torch.einsum("bhpn,bhn->bhp", final, C[:, 0])[:, None]
        else:
            y, final = ssd_chunked(x, dt, A, B, C, c["chunk_size"], None if state is None else state["ssm"])
        y = y + x * w[pre + "D"][:, None]
        y = y.reshape(b, T, inner) * F.silu(z)
        gs = inner // G
        yg = y.reshape(b, T, G, gs)
        yg = yg * torch.rsqrt(yg.pow(2).mean(-1, keepdim=True) + c["layer_norm_epsilon"])
        y = yg.reshape(b, T, inner) * w[pre + "norm.weight"]
        return y @ w[pre + "out_proj.weight"].t(), {"conv": new_conv, "ssm": final}

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg["layer_norm_epsilon"]) * weight

    def forward(self, ids, states=None):
        w = self.w
        x = w["backbone.embeddings.weight"][ids]
        new_states = []
        for l in range(self.cfg["num_hidden_layers"]):
            out, st = self.mixer(l, self.rms(x, w[f"backbone.layers.{l}.norm.weight"]),
                                 None if states is None else states[l])
            x = x + out
            new_states.append(st)
        h = self.rms(x, w["backbone.norm_f.weight"])
        head = w.get("lm_head.weight", w["backbone.embeddings.weight"])
        return h @ head.t(), new_states


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--ids")
    ap.add_argument("--logits", help="tessera forward output (.npy) to compare with")
    ap.add_argument("--bench-prefill", type=int, default=0)
    ap.add_argument("--bench-decode", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = Mamba2(args.model)
    result = {"torch": torch.__version__, "threads": args.threads}
    with torch.no_grad():
        if args.ids:
            ids = torch.tensor([[int(t) for t in args.ids.split()]])
            logits = model.forward(ids)[0][0].numpy()
            if args.logits:
                ours = np.load(args.logits)
                result["max_abs_diff"] = float(np.abs(ours - logits).max())
                result["max_abs_logit"] = float(np.abs(logits).max())
        vocab = model.cfg["vocab_size"]
        gen = torch.Generator().manual_seed(0)
        if args.bench_prefill:
            runs = []
            for r in range(args.repeats + 1):
                ids = torch.randint(0, vocab, (1, args.bench_prefill), generator=gen)
                start = time.perf_counter()
                model.forward(ids)
                if r:
                    runs.append(args.bench_prefill / (time.perf_counter() - start))
            result["pp_tokens_per_s"] = float(np.median(runs))
        if args.bench_decode:
            runs = []
            for r in range(args.repeats + 1):
                ids = torch.randint(0, vocab, (1, args.bench_decode), generator=gen)
                states = None
                start = time.perf_counter()
                for i in range(args.bench_decode):
                    _, states = model.forward(ids[:, i:i + 1], states)
                if r:
                    runs.append(args.bench_decode / (time.perf_counter() - start))
            result["tg_tokens_per_s"] = float(np.median(runs))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
