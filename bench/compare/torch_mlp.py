#!/usr/bin/python3
"""The PyTorch side of bench_autograd: the same 4-layer MLP training step (linear+ReLU x3,
linear, cross-entropy, AdamW) at d=1024/batch 64 and d=64/batch 8, on CPU, with the given
thread count. Prints rows/s as the median of --repeats timed blocks. Needs Debian's
python3-torch (bench/compare/setup.sh); not part of CI."""
import argparse
import statistics
import time

import torch


def run(d, batch, threads, repeats, iters):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layers = []
    for i in range(4):
        layers.append(torch.nn.Linear(d, d))
        if i < 3:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, d)
    target = torch.randint(0, d, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(iters):
            step()
        rates.append(batch * iters / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for d, batch, iters in ((1024, 64, 20), (64, 8, 2000)):
        rate = run(d, batch, args.threads, args.repeats, iters)
        print(f"torch d={d} batch={batch} threads={args.threads}: {rate:.0f} rows/s")


if __name__ == "__main__":
    main()
