#!/usr/bin/env python3
"""PyTorch figures for GVirtuS, one per line as `<metric> <value> <unit>` (like gvirtus-bench).

    pytorch_bench.py [--reps N] [--warmup N] [--only METRIC]

bench/run.sh runs it natively and through `gvirtus run` (TCP, Unix socket, shm, TLS), in two
interleaved turns, and prints each mode's best turn in its ratio table. Each figure is the median of N timed repetitions after the warm-up ones, with
torch.cuda.synchronize() before and after each:
  gpt_train_step_ms     one training step (forward, backward, AdamW) of a small GPT
  resnet_train_step_ms  one training step (SGD with momentum) of a small ResNet, batch 32
  tiny_op_us            x.add_(1) on 256 floats, per operation (1000 operations, then one sync)
  import_first_op_s     a fresh `python -c "import torch; <first CUDA op>"`, wall time; it runs
                        in the environment this script got, so through GVirtuS when this is
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timed(fn, reps, warmup):
    """Median seconds of fn() over reps runs after warmup runs, synchronised around each."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report(metric, value, unit):
    print(f"{metric} {value:.4g} {unit}", flush=True)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab=4096, d=256, heads=8, layers=4, seq=128):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(seq, d)
        self.blocks = nn.Sequential(*(Block(d, heads) for _ in range(layers)))
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1], device=idx.device))
        return self.head(self.ln(self.blocks(x)))


def resnet():
    def conv_bn(cin, cout, stride):
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    class Residual(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(c, c, 1), nn.Conv2d(c, c, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(c))

        def forward(self, x):
            return F.relu(x + self.body(x))

    return nn.Sequential(*conv_bn(3, 32, 1), Residual(32), *conv_bn(32, 64, 2), Residual(64),
                         *conv_bn(64, 128, 2), Residual(128), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--only", choices=("gpt_train_step_ms", "resnet_train_step_ms", "tiny_op_us",
                                       "import_first_op_s"),
                    help="measure this figure only (e.g. to count its calls: GVIRTUS_CALL_STATS)")
    a = ap.parse_args()
    want = lambda metric: a.only in (None, metric)
    if not torch.cuda.is_available():
        print("pytorch_bench: torch sees no CUDA device", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)

    if want("gpt_train_step_ms"):
        gpt(a, g)
    if want("resnet_train_step_ms"):
        resnet_bench(a, g)
    if want("tiny_op_us") and not tiny(a):
        return 1
    if want("import_first_op_s"):
        import_first_op()
    return 0


def gpt(a, g):
    model = GPT().cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = torch.randint(0, 4096, (16, 129), generator=g).cuda()

    def gpt_step():
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    report("gpt_train_step_ms", 1e3 * timed(gpt_step, a.reps, a.warmup), "ms")


def resnet_bench(a, g):
    net = resnet().cuda()
    sgd = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(32, 3, 32, 32, generator=g).cuda()
    labels = torch.randint(0, 10, (32,), generator=g).cuda()

    def resnet_step():
        loss = F.cross_entropy(net(images), labels)
        sgd.zero_grad(set_to_none=True)
        loss.backward()
        sgd.step()

    report("resnet_train_step_ms", 1e3 * timed(resnet_step, a.reps, a.warmup), "ms")


def tiny(a):
    x = torch.zeros(256, device="cuda")
    ops = 1000

    def tiny_ops():
        for _ in range(ops):
            x.add_(1)

    report("tiny_op_us", 1e6 * timed(tiny_ops, max(3, a.reps // 4), 1) / ops, "us")
    want = float(ops * (max(3, a.reps // 4) + 1))
    if not math.isclose(x[0].item(), want):  # the figure counts only if the work was done
        print(f"pytorch_bench: x[0] = {x[0].item()}, want {want}", file=sys.stderr)
        return False
    return True


def import_first_op():
    code = ("import torch; x = torch.ones(1, device='cuda'); "
            "assert (x + 1).item() == 2.0")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, stdin=subprocess.DEVNULL,
                       env=dict(os.environ))
        times.append(time.perf_counter() - t0)
    report("import_first_op_s", statistics.median(times), "s")


if __name__ == "__main__":
    sys.exit(main())
