"""The PyTorch peer of the inference benchmark (issue 18): the same ESMC forward and TopK SAE as our
C# engine (src/EsmcFeaturePlatform.Inference.TorchSharp/Model/EsmcBackbone.cs and Sae/SaeEncoder.cs),
written plainly in PyTorch, reading the same safetensors files the benchmark writes.

It is driven by the benchmark over stdin/stdout, one JSON object per line, so that the C# side can
alternate the two engines batch for batch on the same weights and the same batches:

  {"cmd": "load", "model_dir": ..., "sae_file": ..., "layer": 23, "k": 64, "threads": 2}
  {"cmd": "ceiling", "n": 2048, "repeats": 10}
  {"cmd": "run", "batches": [[[ids...], ...], ...], "features": false}

Every reply is one JSON line; errors are {"error": "..."}. Timing (wall and process CPU, all threads) is
taken here around the work only, so Python start-up and JSON parsing are not charged to the peer.

Written for Debian's python3-torch 1.13 (no scaled_dot_product_attention there: attention is the
textbook softmax(q k^T / sqrt(d_head) + mask) v, which is what SDPA computes).
"""

import json
import math
import os
import resource
import struct
import sys
import time

import torch
import torch.nn.functional as F

LAYER_NORM_EPS = 1e-5
PAD_ID = 1
# Bounds the dense [rows, codebook] activation block as the C# encoder does (16M floats).
MAX_ACTIVATION_ELEMENTS = 16 << 20
DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def read_safetensors(path):
    """name -> float32 tensor; the format is an 8-byte header length, a JSON header, then raw data."""
    tensors = {}
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        base = 8 + header_len
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            start, end = entry["data_offsets"]
            f.seek(base + start)
            data = bytearray(f.read(end - start))
            tensors[name] = torch.frombuffer(data, dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"]).to(torch.float32)
    return tensors


def strip(name):
    return name[len("esmc."):] if name.startswith("esmc.") else name


class Esmc:
    """ESMC encoder up to `layer` blocks (layout C names, as the benchmark's demo writer produces)."""

    def __init__(self, model_dir, layer):
        with open(os.path.join(model_dir, "config.json")) as f:
            config = json.load(f)
        self.d = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.head_dim = self.d // self.heads
        self.n_layers = config["num_hidden_layers"]
        self.theta = config.get("rope_theta", 10000.0)
        self.scale = math.sqrt(self.n_layers / 36.0)
        self.layer = layer
        w = {strip(k): v for k, v in read_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
        self.embedding = w["embed_tokens.weight"]
        self.blocks = []
        for i in range(layer):
            p = f"layers.{i}."
            self.blocks.append(dict(
                attn_norm_w=w[p + "input_layernorm.weight"], attn_norm_b=w[p + "input_layernorm.bias"],
                qkv=torch.cat([w[p + "self_attn.q_proj.weight"], w[p + "self_attn.k_proj.weight"], w[p + "self_attn.v_proj.weight"]]).contiguous(),
                q_norm=w[p + "self_attn.q_norm.weight"], k_norm=w[p + "self_attn.k_norm.weight"],
                out=w[p + "self_attn.o_proj.weight"],
                ffn_norm_w=w[p + "post_attention_layernorm.weight"], ffn_norm_b=w[p + "post_attention_layernorm.bias"],
                ffn_in=torch.cat([w[p + "mlp.gate_proj.weight"], w[p + "mlp.up_proj.weight"]]).contiguous(),
                ffn_out=w[p + "mlp.down_proj.weight"]))

    def rotary(self, length):
        # Angles in float64, then cast, as the C# engine does.
        inv = 1.0 / torch.pow(torch.tensor(self.theta, dtype=torch.float64),
                              torch.arange(0, self.head_dim // 2, dtype=torch.float64) * 2.0 / self.head_dim)
        freqs = torch.outer(torch.arange(length, dtype=torch.float64), inv)
        angles = torch.cat([freqs, freqs], -1)
        return angles.cos().float(), angles.sin().float()

    @staticmethod
    def rotate(x, cos, sin):
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rotated * sin

    def forward(self, ids, key_mask):
        """h[layer] for right-padded ids [B, L]; key_mask [B, L] is True for real tokens (None: no padding)."""
        b, length = ids.shape
        x = self.embedding[ids]
        cos, sin = self.rotary(length)
        bias = None
        if key_mask is not None:
            bias = torch.zeros(b, 1, 1, length).masked_fill_(~key_mask.reshape(b, 1, 1, length), float("-inf"))
        for w in self.blocks:
            a = F.layer_norm(x, (self.d,), w["attn_norm_w"], w["attn_norm_b"], LAYER_NORM_EPS)
            q, k, v = F.linear(a, w["qkv"]).chunk(3, -1)
            q = F.layer_norm(q, (self.d,), w["q_norm"], None, LAYER_NORM_EPS)
            k = F.layer_norm(k, (self.d,), w["k_norm"], None, LAYER_NORM_EPS)
            q = self.rotate(q.reshape(b, length, self.heads, self.head_dim).transpose(1, 2), cos, sin)
            k = self.rotate(k.reshape(b, length, self.heads, self.head_dim).transpose(1, 2), cos, sin)
            v = v.reshape(b, length, self.heads, self.head_dim).transpose(1, 2)
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
            if bias is not None:
                scores = scores + bias
            context = torch.softmax(scores, -1) @ v
            x = x + F.linear(context.transpose(1, 2).reshape(b, length, self.d), w["out"]) / self.scale
            a = F.layer_norm(x, (self.d,), w["ffn_norm_w"], w["ffn_norm_b"], LAYER_NORM_EPS)
            gate, up = F.linear(a, w["ffn_in"]).chunk(2, -1)
            x = x + F.linear(F.silu(gate) * up, w["ffn_out"]) / self.scale
        return x


class Sae:
    """TopK SAE: z-score each row (unbiased std + 1e-5), subtract b_dec, W_enc, ReLU, k largest."""

    def __init__(self, path, k):
        w = read_safetensors(path)
        self.w_enc = w["W_enc"]
        self.b_dec = w["b_dec"]
        self.k = k

    def encode(self, rows):
        values, indices = [], []
        chunk = max(1, MAX_ACTIVATION_ELEMENTS // self.w_enc.shape[1])
        for start in range(0, rows.shape[0], chunk):
            x = rows[start:start + chunk]
            centered = x - x.mean(-1, keepdim=True)
            std = (centered.square().sum(-1, keepdim=True) / (x.shape[1] - 1)).sqrt()
            z = centered / (std + 1e-5)
            top = torch.relu((z - self.b_dec) @ self.w_enc).topk(self.k, dim=-1, largest=True, sorted=True)
            values.append(top.values)
            indices.append(top.indices)
        return torch.cat(values), torch.cat(indices)


def blas_library():
    """The BLAS shared object this process actually loaded (Debian switches it with update-alternatives)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if line.rstrip().endswith(".so") or ".so." in line}
        blas = sorted(p for p in paths if "blas" in p.lower() or "mkl" in p.lower() or "blis" in p.lower())
        return ", ".join(os.path.realpath(p) for p in blas) or "none found"
    except OSError:
        return "unknown"


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Peer:
    def __init__(self):
        self.model = None
        self.sae = None

    def load(self, cmd):
        threads = int(cmd.get("threads", 0))
        if threads > 0:
            # torch 1.13 defaults to hardware_concurrency()/2 intra-op threads when OMP_NUM_THREADS is unset
            # (1 on a 2-vCPU machine), so the count is always set explicitly.
            torch.set_num_threads(threads)
        started = time.perf_counter()
        self.model = Esmc(cmd["model_dir"], int(cmd["layer"]))
        self.sae = Sae(cmd["sae_file"], int(cmd["k"]))
        return {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "blas": blas_library(),
            "load_seconds": time.perf_counter() - started,
        }

    def ceiling(self, cmd):
        # Same rule as MatmulCeiling.cs: best wall time, and the median of the per-repeat CPU rates (one
        # slow repeat, another process's burst, does not move a median).
        n, repeats = int(cmd["n"]), int(cmd["repeats"])
        a, b = torch.randn(n, n), torch.randn(n, n)
        for _ in range(2):
            torch.matmul(a, b)
        flops = 2.0 * n ** 3
        best, rates = float("inf"), []
        for _ in range(repeats):
            t, cpu = time.perf_counter(), cpu_seconds()
            torch.matmul(a, b)
            best = min(best, time.perf_counter() - t)
            rates.append(flops / (cpu_seconds() - cpu) / 1e9)
        rates.sort()
        return {"gflops": flops / best / 1e9, "gflops_per_cpu_second": rates[len(rates) // 2]}

    def run(self, cmd):
        features = []
        residues = 0
        wall0, cpu0 = time.perf_counter(), cpu_seconds()
        with torch.inference_mode():
            for batch in cmd["batches"]:
                lengths = [len(s) for s in batch]
                longest = max(lengths)
                ids = torch.full((len(batch), longest), PAD_ID, dtype=torch.long)
                for i, s in enumerate(batch):
                    ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
                mask = None if sum(lengths) == ids.numel() else ids != PAD_ID
                hidden = self.model.forward(ids, mask)
                rows = hidden.reshape(-1, self.model.d)[mask.reshape(-1)] if mask is not None else hidden.reshape(-1, self.model.d)
                values, indices = self.sae.encode(rows)
                residues += sum(lengths) - 2 * len(batch)
                if cmd.get("features"):
                    features.append({"values": values.tolist(), "indices": indices.tolist()})
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        return {"wall": wall, "cpu": cpu, "residues": residues, "features": features}


def main():
    peer = Peer()
    handlers = {"load": peer.load, "ceiling": peer.ceiling, "run": peer.run}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            reply = handlers[cmd["cmd"]](cmd)
        except Exception as e:  # reported to the benchmark, which prints it and stops using the peer
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
