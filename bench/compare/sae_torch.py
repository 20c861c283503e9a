#!/usr/bin/env python3
"""Dense PyTorch CPU baseline for `bench_sae` (docs/sae.md): the same TopK SAE and training
step as Tessera (encoder Linear on x - b_pre, top-k + ReLU, dense decoder, normalised MSE,
AuxK over dead latents, Adam, unit-norm decoder rows with the parallel gradient removed),
written the way a framework without sparse kernels runs it: the latent code is a dense
[batch, n] tensor and autograd differentiates the dense decoder.

Usage: sae_torch.py --threads 2 --steps 3 [--d 768 --latents 32768 --k 32 --batch 4096]
Prints one line per measured step and a final "tokens/s" line.
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--latents", type=int, default=32768)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--auxk", type=int, default=384)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    d, n, k = args.d, args.latents, args.k

    encoder = torch.nn.Linear(d, n)
    with torch.no_grad():
        encoder.bias.zero_()
    W_dec = torch.nn.Parameter(encoder.weight.detach().clone())  # tied init, rows = latents
    with torch.no_grad():
        W_dec /= W_dec.norm(dim=1, keepdim=True)
    b_pre = torch.nn.Parameter(torch.zeros(d))
    params = [encoder.weight, encoder.bias, W_dec, b_pre]
    lr = 2e-4 / (n / 2 ** 14) ** 0.5
    opt = torch.optim.Adam(params, lr=lr, eps=6.25e-10)
    since_fired = torch.zeros(n, dtype=torch.long)
    data = torch.randn(4 * args.batch, d)

    def step(i):
        x = data[(i % 4) * args.batch:((i % 4) + 1) * args.batch]
        pre = encoder(x - b_pre)
        vals, idx = pre.topk(k, dim=-1)
        z = torch.zeros_like(pre).scatter(-1, idx, torch.relu(vals))  # dense [batch, n] code
        x_hat = z @ W_dec + b_pre
        variance = (x - x.mean(0)).pow(2).sum()
        loss = (x_hat - x).pow(2).sum() / variance
        dead = since_fired >= 10_000_000
        num_dead = int(dead.sum())
        if num_dead > 0:
            aux_k = min(args.auxk, num_dead)
            masked = torch.where(dead[None], pre, torch.full_like(pre, -float("inf")))
            avals, aidx = masked.topk(aux_k, dim=-1)
            z_aux = torch.zeros_like(pre).scatter(-1, aidx, torch.relu(avals))
            e = (x - x_hat).detach()
            loss = loss + (1 / 32) * min(num_dead / args.auxk, 1.0) * (z_aux @ W_dec - e).pow(2).sum() / variance
        opt.zero_grad(set_to_none=False)
        loss.backward()
        with torch.no_grad():
            W_dec.grad -= (W_dec.grad * W_dec).sum(1, keepdim=True) * W_dec
            opt.step()
            W_dec.div_(W_dec.norm(dim=1, keepdim=True))
            fired = torch.zeros(n, dtype=torch.bool)
            fired[idx[vals > 0]] = True
            since_fired.add_(args.batch)
            since_fired[fired] = 0
        return float(loss)

    step(0)  # warm-up (allocations, Adam state)
    times = []
    for i in range(1, args.steps + 1):
        t0 = time.perf_counter()
        loss = step(i)
        times.append(time.perf_counter() - t0)
        print(f"step {i}: {times[-1]:.3f} s, loss {loss:.4f}", flush=True)
    times.sort()
    median = times[len(times) // 2]
    print(f"torch dense: median step {median:.3f} s = {args.batch / median:.1f} tokens/s "
          f"(d={d}, n={n}, k={k}, batch={args.batch}, threads={args.threads})")


if __name__ == "__main__":
    main()
