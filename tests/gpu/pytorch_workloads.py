#!/usr/bin/env python3
"""PyTorch workloads on CUDA that print deterministic result lines, to compare runs.

    pytorch_workloads.py [--only NAME[,NAME...]] [--list]

Each workload prints one or more lines
    <name>: <sha256 of the raw bytes of the result tensors, on the CPU> <float summary %.6e>
and on failure
    <name>: ERROR <type>: <message>
The exit status is 1 if any workload failed (or CUDA is not available), else 0.

Deterministic: every workload starts from torch.manual_seed(0), deterministic algorithms are
on, cuDNN autotuning is off, and inputs are made on the CPU with a seeded generator and moved to
the GPU, so the same GPU and the same PyTorch give the same bytes on every run. One workload
(cuda_rng) draws on the GPU's own generator (torch.randn on cuda, dropout): PyTorch's Philox
kernels, deterministic for a given seed. pytorch_compare.py runs this natively and through
`gvirtus run` and compares the lines: bitwise, except the workloads in TOLERANT, whose float
summary is compared within a relative 1e-3.

torch is imported only by main(), so pytorch_compare.py can read WORKLOADS and TOLERANT
without it.
"""
import argparse
import hashlib
import math
import os
import sys
import traceback

# Before torch initialises CUDA (cuBLAS reads it when a handle is made): deterministic cuBLAS.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

# (name, function, tolerant): tolerant workloads may differ in the last bits between runs
# (mixed precision: autocast casts and GradScaler), so their summary is compared within a
# relative 1e-3 when the hashes differ.
WORKLOADS = []
TOLERANT = set()

torch = nn = F = None  # set by main()


def workload(name, tolerant=False):
    def register(fn):
        WORKLOADS.append((name, fn))
        if tolerant:
            TOLERANT.add(name)
        return fn
    return register


def tensor_bytes(t):
    t = t.detach()
    if t.is_complex():
        t = torch.view_as_real(t)
    return t.to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def digest(tensors):
    """sha256 over dtype, shape and raw bytes of each tensor; sum of |x| in float64."""
    h = hashlib.sha256()
    total = 0.0
    for t in tensors:
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(tensor_bytes(t))
        parts = torch.view_as_real(t.detach()) if t.is_complex() else t.detach()
        total += parts.to("cpu", torch.float64).abs().sum().item()
    return h.hexdigest(), total


def emit(name, tensors, summary=None):
    if not isinstance(tensors, (list, tuple)):
        tensors = [tensors]
    sha, total = digest(tensors)
    print(f"{name}: {sha} {total if summary is None else summary:.6e}", flush=True)


def cpu_gen():
    return torch.Generator().manual_seed(1234)


def randn(gen, *shape, dtype=None, device="cuda"):
    t = torch.randn(*shape, generator=gen)
    return t.to(device=device, dtype=dtype or torch.float32)


def randint(gen, high, *shape, device="cuda"):
    return torch.randint(0, high, shape, generator=gen).to(device)


# --- plain operations -------------------------------------------------------------------------

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def make_matmul(tag):
    @workload(f"matmul_{tag}")
    def run(name):
        dt = getattr(torch, DTYPES[tag])
        g = cpu_gen()
        a = randn(g, 256, 384, dtype=dt)
        b = randn(g, 384, 128, dtype=dt)
        emit(name, torch.matmul(a, b))

    @workload(f"bmm_{tag}")
    def run_bmm(name):
        dt = getattr(torch, DTYPES[tag])
        g = cpu_gen()
        a = randn(g, 8, 64, 96, dtype=dt)
        b = randn(g, 8, 96, 48, dtype=dt)
        emit(name, torch.bmm(a, b))


for _tag in DTYPES:
    make_matmul(_tag)


@workload("matmul_tf32")
def matmul_tf32(name):
    # The math mode must reach cuBLAS: TF32 results differ from full fp32 ones.
    g = cpu_gen()
    a = randn(g, 256, 384)
    b = randn(g, 384, 128)
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        emit(name, torch.matmul(a, b))
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


@workload("linear_fp32")
def linear_fp32(name):
    # addmm with a 1-D bias: cuBLASLt with a bias epilogue; backward: weight/bias grads.
    g = cpu_gen()
    x = randn(g, 64, 256).requires_grad_()
    w = randn(g, 512, 256).requires_grad_()
    b = randn(g, 512).requires_grad_()
    y = F.linear(x, w, b)
    emit(name + ".forward", y)
    y.backward(randn(g, 64, 512))
    emit(name + ".backward", [x.grad, w.grad, b.grad])


@workload("linear_bf16")
def linear_bf16(name):
    g = cpu_gen()
    x = randn(g, 64, 256, dtype=torch.bfloat16)
    w = randn(g, 512, 256, dtype=torch.bfloat16)
    b = randn(g, 512, dtype=torch.bfloat16)
    emit(name, F.linear(x, w, b))


@workload("conv2d")
def conv2d(name):
    g = cpu_gen()
    x = randn(g, 8, 16, 32, 32).requires_grad_()
    w = randn(g, 32, 16, 3, 3).requires_grad_()
    b = randn(g, 32).requires_grad_()
    y = F.conv2d(x, w, b, padding=1)
    emit(name + ".forward", y)
    y.backward(randn(g, *y.shape))
    emit(name + ".backward", [x.grad, w.grad, b.grad])


@workload("batchnorm")
def batchnorm(name):
    g = cpu_gen()
    x = randn(g, 16, 32, 8, 8).requires_grad_()
    weight = randn(g, 32).requires_grad_()
    bias = randn(g, 32).requires_grad_()
    running_mean = torch.zeros(32, device="cuda")
    running_var = torch.ones(32, device="cuda")
    y = F.batch_norm(x, running_mean, running_var, weight, bias, training=True, momentum=0.1)
    emit(name + ".forward", [y, running_mean, running_var])
    y.backward(randn(g, *y.shape))
    emit(name + ".backward", [x.grad, weight.grad, bias.grad])


@workload("reductions")
def reductions(name):
    # Kernels outside the libraries: reductions, scans, sorting (CUB), softmax, indexing.
    g = cpu_gen()
    x = randn(g, 64, 1000)
    idx = randint(g, 1000, 300)
    values, order = torch.sort(x, dim=1)
    top_v, top_i = torch.topk(x, 5, dim=1)
    emit(name, [x.sum(), x.mean(dim=0), x.var(dim=1), torch.cumsum(x, dim=1),
                F.softmax(x, dim=1), F.log_softmax(x, dim=0), values, order, top_v, top_i,
                x.argmax(dim=1), x.index_select(1, idx), torch.where(x > 0, x, x * 0.5)])


@workload("cuda_rng")
def cuda_rng(name):
    # The GPU's generator: PyTorch's own Philox kernels (no cuRAND), seeded by manual_seed.
    x = torch.randn(4096, device="cuda")
    u = torch.rand(1000, device="cuda")
    emit(name + ".randn", [x, u])
    y = torch.ones(64, 64, device="cuda", requires_grad=True)
    z = F.dropout(y, p=0.5, training=True)
    z.sum().backward()
    emit(name + ".dropout", [z, y.grad])


# --- torch.fft, torch.linalg, sparse products, random numbers, memory queries ---------------

@workload("fft")
def fft(name):
    # cuFFT: complex, real-to-complex and back, 2-D, single and double precision.
    g = cpu_gen()
    for tag, real, cplx in (("fp32", torch.float32, torch.complex64),
                            ("fp64", torch.float64, torch.complex128)):
        x = torch.complex(randn(g, 16, 1024, dtype=real), randn(g, 16, 1024, dtype=real))
        r = randn(g, 8, 1000, dtype=real)
        img = randn(g, 4, 64, 96, dtype=real)
        emit(f"{name}.c2c_{tag}", [torch.fft.fft(x), torch.fft.ifft(x, norm="ortho")])
        emit(f"{name}.r2c_{tag}", [torch.fft.rfft(r), torch.fft.irfft(torch.fft.rfft(r), n=1000)])
        emit(f"{name}.fft2_{tag}", [torch.fft.fft2(img), torch.fft.ifft2(img.to(cplx))])


def linalg_inputs(g, n, dtype):
    a = randn(g, n, n, dtype=dtype)
    spd = a @ a.mT + n * torch.eye(n, device="cuda", dtype=dtype)  # symmetric positive definite
    return a, spd, randn(g, n, 3, dtype=dtype)


@workload("linalg")
def linalg(name):
    # cuSOLVER (PyTorch may pick MAGMA by size: cuSOLVER is asked for explicitly).
    torch.backends.cuda.preferred_linalg_library("cusolver")
    g = cpu_gen()
    for tag, dt in (("fp32", torch.float32), ("fp64", torch.float64)):
        a, spd, b = linalg_inputs(g, 64, dt)
        emit(f"{name}.solve_{tag}", torch.linalg.solve(a, b))
        emit(f"{name}.inv_{tag}", torch.linalg.inv(a))
        emit(f"{name}.det_{tag}", torch.linalg.det(a / 8))  # unscaled, fp32 overflows
        emit(f"{name}.cholesky_{tag}", [torch.linalg.cholesky(spd),
                                        torch.cholesky_solve(b, torch.linalg.cholesky(spd))])
        emit(f"{name}.qr_{tag}", list(torch.linalg.qr(a)))
        emit(f"{name}.svd_{tag}", list(torch.linalg.svd(a)))
        emit(f"{name}.eigh_{tag}", list(torch.linalg.eigh(spd)))
        tall = randn(g, 96, 32, dtype=dt)
        emit(f"{name}.lstsq_{tag}", torch.linalg.lstsq(tall, randn(g, 96, 2, dtype=dt)).solution)
        batch = randn(g, 6, 16, 16, dtype=dt)
        bspd = batch @ batch.mT + 16 * torch.eye(16, device="cuda", dtype=dt)
        emit(f"{name}.batched_{tag}", [torch.linalg.cholesky(bspd), torch.linalg.inv(batch),
                                       torch.linalg.svdvals(batch), torch.linalg.eigvalsh(bspd)])


@workload("sparse")
def sparse(name):
    # cuSPARSE: COO and CSR times dense (SpMM), CSR times a vector (SpMV), CSR times CSR (SpGEMM).
    g = cpu_gen()
    dense = torch.randn(128, 96, generator=g)
    dense[torch.rand(128, 96, generator=g) < 0.9] = 0.0
    for tag, dt in (("fp32", torch.float32), ("fp64", torch.float64)):
        d = dense.to("cuda", dt)
        coo = d.to_sparse_coo().coalesce()
        csr = d.to_sparse_csr()
        rhs = randn(g, 96, 40, dtype=dt)
        vec = randn(g, 96, dtype=dt)
        other = d.mT.contiguous().to_sparse_csr()
        emit(f"{name}.coo_mm_{tag}", torch.sparse.mm(coo, rhs))
        emit(f"{name}.csr_mm_{tag}", csr @ rhs)
        emit(f"{name}.csr_mv_{tag}", csr @ vec)
        emit(f"{name}.csr_addmm_{tag}", torch.addmm(randn(g, 128, 40, dtype=dt), csr, rhs,
                                                  beta=0.5, alpha=2.0))
        prod = (csr @ other).to_dense()
        emit(f"{name}.csr_spgemm_{tag}", prod)
        emit(f"{name}.to_dense_{tag}", [coo.to_dense(), csr.to_dense()])


@workload("semi_structured")
def semi_structured(name):
    # cuSPARSELt (2:4 structured sparsity), a library GVirtuS does not forward: PyTorch's wheel
    # carries libcusparseLt.so.0 with NVIDIA's runtime linked in, so it runs in the client and
    # reaches the GPU through GVirtuS's libcuda.so.1 alone (docs/static-cudart.md).
    g = cpu_gen()
    a = torch.randn(128, 128, generator=g)
    a = a * torch.tensor([1.0, 1.0, 0.0, 0.0]).repeat(128, 32)  # 2 of every 4 kept
    a = a.to("cuda", torch.float16)
    b = randn(g, 128, 64, dtype=torch.float16)
    compressed = torch._cslt_compress(a)
    emit(f"{name}.cslt_mm_fp16", torch._cslt_sparse_mm(compressed, b))


@workload("random")
def random_numbers(name):
    # PyTorch's own generators on the GPU (Philox), seeded: every distribution it offers.
    torch.cuda.manual_seed(42)
    t = torch.empty(10000, device="cuda")
    emit(name + ".uniform", torch.rand(10000, device="cuda", dtype=torch.float64))
    emit(name + ".normal", t.normal_(2.0, 3.0))
    emit(name + ".randint", torch.randint(0, 1000, (5000,), device="cuda"))
    emit(name + ".randperm", torch.randperm(3000, device="cuda"))
    emit(name + ".bernoulli", torch.bernoulli(torch.full((4000,), 0.3, device="cuda")))
    probs = torch.rand(16, 50, generator=cpu_gen()).to("cuda")
    emit(name + ".multinomial", torch.multinomial(probs, 10, replacement=True))
    emit(name + ".exponential", torch.empty(4000, device="cuda").exponential_())
    gen = torch.Generator(device="cuda").manual_seed(7)
    emit(name + ".generator", torch.randn(2048, device="cuda", generator=gen))


@workload("memory")
def memory(name):
    # Memory queries as seen on the backend's GPU. The free amount depends on what the process
    # (or the worker) holds, so only its consistency is checked; the total must match.
    free, total = torch.cuda.mem_get_info()
    props = torch.cuda.get_device_properties(0)
    if not 0 < free <= total or total != props.total_memory:
        raise RuntimeError(f"mem_get_info {free}/{total} against total_memory {props.total_memory}")
    x = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    free_after, _ = torch.cuda.mem_get_info()
    if free - free_after < (256 << 20):
        raise RuntimeError(f"256 MiB held, yet free fell only from {free} to {free_after}")
    del x
    totals = torch.tensor([total, props.total_memory, props.multi_processor_count], dtype=torch.int64)
    emit(name + ".total", totals, float(total))
    emit(name + ".device", torch.tensor(list(torch.cuda.get_device_capability(0))),
         float(torch.cuda.device_count()))
    print(f"{name}.name: {props.name}", flush=True)


# --- models -----------------------------------------------------------------------------------

def gpt_classes():
    class Attention(nn.Module):
        def __init__(self, d, heads, sdpa):
            super().__init__()
            self.heads, self.sdpa = heads, sdpa
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)

        def forward(self, x):
            B, T, C = x.shape
            hd = C // self.heads
            q, k, v = self.qkv(x).split(C, dim=2)
            q, k, v = (t.view(B, T, self.heads, hd).transpose(1, 2) for t in (q, k, v))
            if self.sdpa:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
                causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
                att = att.masked_fill(~causal, float("-inf"))
                y = F.softmax(att, dim=-1) @ v
            return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class Block(nn.Module):
        def __init__(self, d, heads, sdpa):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = Attention(d, heads, sdpa)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self, vocab=512, d=128, heads=4, layers=2, seq=64, sdpa=False):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(seq, d)
            self.blocks = nn.ModuleList(Block(d, heads, sdpa) for _ in range(layers))
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            T = idx.shape[1]
            x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln(x))

    return GPT


def train_gpt(name, sdpa, autocast):
    GPT = gpt_classes()
    model = GPT(sdpa=sdpa).to("cuda")  # parameters initialised on the CPU, by manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    g = cpu_gen()
    vocab, seq = 512, 64
    for step in range(1, 4):
        tokens = randint(g, vocab, 8, seq + 1)
        x, y = tokens[:, :-1], tokens[:, 1:]
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        emit(f"{name}.step{step}", loss, loss.item())
    emit(name + ".params", list(model.state_dict().values()))


@workload("gpt_matmul")
def gpt_matmul(name):
    train_gpt(name, sdpa=False, autocast=False)


@workload("gpt_sdpa")
def gpt_sdpa(name):
    train_gpt(name, sdpa=True, autocast=False)


@workload("gpt_matmul_autocast_bf16", tolerant=True)
def gpt_matmul_bf16(name):
    train_gpt(name, sdpa=False, autocast=True)


@workload("gpt_sdpa_autocast_bf16", tolerant=True)
def gpt_sdpa_bf16(name):
    train_gpt(name, sdpa=True, autocast=True)


def resnet():
    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                      nn.ReLU())
            self.layers = nn.Sequential(Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2))
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = self.layers(self.stem(x))
            # A mean, not AdaptiveAvgPool2d: its CUDA backward has no deterministic version.
            return self.fc(x.mean(dim=(2, 3)))

    return Net()


def train_resnet(name, amp):
    model = resnet().to("cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    g = cpu_gen()
    for step in range(1, 4):
        x = randn(g, 8, 3, 32, 32)
        y = randint(g, 10, 8)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        emit(f"{name}.step{step}", loss, loss.item())
    if amp:
        scale = scaler.get_scale()
        emit(name + ".scale", torch.tensor([scale], dtype=torch.float64), scale)
    emit(name + ".params", list(model.state_dict().values()))


@workload("resnet")
def resnet_fp32(name):
    train_resnet(name, amp=False)


@workload("resnet_amp_fp16", tolerant=True)
def resnet_amp(name):
    train_resnet(name, amp=True)


@workload("lstm")
def lstm(name):
    model = nn.LSTM(input_size=32, hidden_size=64, num_layers=2, batch_first=True).to("cuda")
    g = cpu_gen()
    x = randn(g, 8, 20, 32).requires_grad_()
    h0 = randn(g, 2, 8, 64)
    c0 = randn(g, 2, 8, 64)
    out, (h, c) = model(x, (h0, c0))
    emit(name + ".forward", [out, h, c])
    torch.autograd.backward([out, h], [randn(g, *out.shape), randn(g, *h.shape)])
    emit(name + ".backward", [x.grad] + [p.grad for p in model.parameters()])


# --- CUDA graphs ------------------------------------------------------------------------------

@workload("cuda_graph")
def cuda_graph(name):
    # A whole training step captured once (torch.cuda.graph) and replayed on new inputs: stream
    # capture, the graph pool of the caching allocator, instantiate and launch.
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).to("cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    static_in = torch.zeros(32, 64, device="cuda")
    static_target = torch.zeros(32, 10, device="cuda")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up outside the capture, as PyTorch asks
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            F.mse_loss(model(static_in), static_target).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = F.mse_loss(model(static_in), static_target)
        static_loss.backward()
        opt.step()
    g = cpu_gen()
    losses = []
    for _ in range(4):
        static_in.copy_(randn(g, 32, 64))
        static_target.copy_(randn(g, 32, 10))
        graph.replay()
        losses.append(static_loss.clone())
    emit(name + ".losses", losses)
    emit(name + ".parameters", list(model.parameters()))


@workload("cuda_graph_stream_reuse")
def cuda_graph_stream_reuse(name):
    # With graph_capture_record_stream_reuse, a block used on a second stream and freed during
    # the capture is reused once every later node comes after its last use: the allocator walks
    # the captured graph back from the capture's frontier (cudaStreamGetCaptureInfo,
    # cudaGraphNodeGetDependencies).
    setting = "graph_capture_record_stream_reuse"
    torch.cuda.memory._set_allocator_settings(f"{setting}:True")
    try:
        static_x = torch.zeros(1 << 16, device="cuda")
        side = torch.cuda.Stream()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = static_x
            for _ in range(3):
                cur = torch.cuda.current_stream()
                a = out * 2
                side.wait_stream(cur)
                with torch.cuda.stream(side):
                    b = a + 1
                a.record_stream(side)
                cur.wait_stream(side)
                del a  # freed during the capture after a use on `side`
                out = b * 0.5 - 0.25  # allocates: the allocator looks for reusable blocks
            static_out = out
        # What the allocator reused during the capture decides what the capture holds: the
        # same as natively only if the graph walk (cudaGraphNodeGetDependencies) answered as
        # natively.
        held = torch.tensor([torch.cuda.memory_allocated(), torch.cuda.memory_reserved()],
                            dtype=torch.int64)
        emit(name + ".memory", held, float(held[0]))
        g = cpu_gen()
        results = []
        for _ in range(3):
            static_x.copy_(randn(g, 1 << 16))
            graph.replay()
            results.append(static_out.clone())
        emit(name, results)
    finally:
        torch.cuda.memory._set_allocator_settings(f"{setting}:False")


@workload("sdpa_cudnn", tolerant=True)
def sdpa_cudnn(name):
    # cuDNN's attention (its graph API, through cudnn-frontend), chosen explicitly: the attention
    # scale is a tensor passed by value, whose scalar the variant pack points to in host memory
    # (docs/libraries.md, "Tensors passed by value").
    from torch.nn.attention import SDPBackend, sdpa_kernel
    g = cpu_gen()
    q, k, v = (randn(g, 2, 4, 128, 64, dtype=torch.bfloat16) for _ in range(3))
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            outs = [F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=s)
                    for s in (0.2, 0.05)]
    finally:
        torch.use_deterministic_algorithms(deterministic)
    if torch.equal(outs[0], outs[1]):
        raise RuntimeError("two attention scales gave the same result")
    emit(name, outs)


@workload("expandable_segments")
def expandable_segments(name):
    # expandable_segments:True (PYTORCH_CUDA_ALLOC_CONF): the allocator reserves one address
    # range per pool and maps physical memory into it as it grows (cuMemAddressReserve,
    # cuMemCreate, cuMemMap, cuMemSetAccess), and unmaps what is free on empty_cache
    # (cuMemUnmap, cuMemRelease). What it reserves, and the results, must be as natively.
    setting = "expandable_segments"
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.memory._set_allocator_settings(f"{setting}:True")
    try:
        g = cpu_gen()
        kept = []
        for n in (1 << 10, 1 << 18, 3 << 20, 10 << 20):  # small pool, then the large pool grows
            kept.append(randn(g, n) * 2 + 1)
        expandable = [s for s in torch.cuda.memory_snapshot() if s.get("is_expandable")]
        if not expandable:
            raise RuntimeError("no expandable segment was made")
        grown = torch.cuda.memory_reserved()
        del kept[2:]
        torch.cuda.empty_cache()  # unmaps the pages the freed tensors held
        shrunk = torch.cuda.memory_reserved()
        if not shrunk < grown:
            raise RuntimeError(f"empty_cache kept {shrunk} of {grown} bytes reserved")
        a, b = randn(g, 512, 256), randn(g, 256, 384)
        kept.append(a @ b)
        kept.append(torch.cumsum(randn(g, 4 << 20), 0))  # maps pages again
        held = torch.tensor([grown, shrunk, torch.cuda.memory_reserved(),
                             torch.cuda.memory_allocated()], dtype=torch.int64)
        emit(name + ".memory", held, float(grown))
        emit(name, kept)
    finally:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.memory._set_allocator_settings(f"{setting}:False")


# --- driver -----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="run only these workloads (comma-separated names)")
    ap.add_argument("--list", action="store_true", help="print the workload names and exit")
    a = ap.parse_args()
    if a.list:
        for n, _ in WORKLOADS:
            print(n + (" tolerant" if n in TOLERANT else ""))
        return 0
    selected = WORKLOADS
    if a.only:
        names = a.only.split(",")
        unknown = set(names) - {n for n, _ in WORKLOADS}
        if unknown:
            ap.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
        selected = [(n, f) for n, f in WORKLOADS if n in names]

    global torch, nn, F
    import torch as _torch
    import torch.nn as _nn
    import torch.nn.functional as _F
    torch, nn, F = _torch, _nn, _F

    if not torch.cuda.is_available():
        print(f"cuda: ERROR RuntimeError: torch {torch.__version__} sees no CUDA device "
              f"(torch.cuda.device_count() = {torch.cuda.device_count()})", flush=True)
        return 1
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    print(f"# torch {torch.__version__} cuda {torch.version.cuda} "
          f"cudnn {torch.backends.cudnn.version()}", file=sys.stderr, flush=True)

    failed = 0
    for n, fn in selected:
        torch.manual_seed(0)
        try:
            fn(n)
            torch.cuda.synchronize()  # errors of asynchronous work count against this workload
        except Exception as e:  # noqa: BLE001  (every failure is reported the same way)
            failed += 1
            msg = " ".join(str(e).split())[:500]
            print(f"{n}: ERROR {type(e).__name__}: {msg}", flush=True)
            traceback.print_exc(file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
