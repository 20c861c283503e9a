#!/usr/bin/python3
"""PyTorch CPU side of the training-throughput comparison (issue 4): the same Llama block
stack as `tessera train --config bench/compare/llama_10m.json` (RMSNorm, rotary causal attention, SwiGLU, tied embeddings, AdamW, cross-entropy) on random token batches of the
same shape, with the same thread count. Prints tokens/s as the median of --repeats timed
blocks. Needs Debian's python3-torch (bench/compare/setup.sh); not part of CI."""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d, heads, hidden):
        super().__init__()
        self.heads = heads
        self.w1 = torch.nn.Parameter(torch.ones(d))
        self.w2 = torch.nn.Parameter(torch.ones(d))
        self.qkv = torch.nn.Linear(d, 3 * d, bias=False)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.gate = torch.nn.Linear(d, hidden, bias=False)
        self.up = torch.nn.Linear(d, hidden, bias=False)
        self.down = torch.nn.Linear(hidden, d, bias=False)

    @staticmethod
    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(self.rms(x, self.w1)).view(b, t, 3, self.heads, hd).unbind(2)

        def rope(z):
            z1, z2 = z[..., : hd // 2], z[..., hd // 2 :]
            return torch.cat([z1 * cos - z2 * sin, z2 * cos + z1 * sin], -1)

        q, k, v = rope(q).transpose(1, 2), rope(k).transpose(1, 2), v.transpose(1, 2)
        # torch 1.13 (Debian's) has no scaled_dot_product_attention: the plain causal form.
        scores = (q @ k.transpose(-1, -2)) / (hd ** 0.5)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        a = torch.softmax(scores.masked_fill(mask, float("-inf")), -1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
        h = self.rms(x, self.w2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="bench/compare/llama_10m.json")
    p.add_argument("--vocab", type=int, default=4096)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = json.load(open(a.config))
    d, heads, hidden, layers = c["hidden_size"], c["num_attention_heads"], c["intermediate_size"], c["num_hidden_layers"]
    emb = torch.nn.Embedding(a.vocab, d)
    blocks = torch.nn.ModuleList([Block(d, heads, hidden) for _ in range(layers)])
    wf = torch.nn.Parameter(torch.ones(d))
    params = list(emb.parameters()) + list(blocks.parameters()) + [wf]
    print(f"parameters: {sum(x.numel() for x in params)}")
    opt = torch.optim.AdamW(params, lr=1e-3)
    hd = d // heads
    inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.arange(a.seq).float()[:, None] * inv[None, :]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x = torch.randint(0, a.vocab, (a.batch, a.seq + 1))

    def step():
        opt.zero_grad(set_to_none=True)
        h = emb(x[:, :-1])
        for blk in blocks:
            h = blk(h, cos, sin)
        logits = Block.rms(h, wf) @ emb.weight.t()
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), x[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    step()
    rates = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        rates.append(a.batch * a.seq * a.steps / (time.perf_counter() - t0))
    print(f"torch train tokens/s (median of {a.repeats}, threads={a.threads}): {statistics.median(rates):.0f}")


if __name__ == "__main__":
    main()
