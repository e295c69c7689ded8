#!/usr/bin/env python3
"""PyTorch references of pixelcnn-lab's model families, for its benchmark harness: the seed
notebook's PixelCNN (`--family pixelcnn`, the default) and the gated PixelCNN (`--family gated`).

The same architecture as crates/model (a 7x7 mask-A convolution 1 -> 2h, residual blocks
relu -> 1x1 (2h -> h) -> relu -> 3x3 mask B (h -> h) -> relu -> 1x1 (h -> 2h) plus the input,
then relu -> 1x1 (2h -> 2h) -> relu -> 1x1 (2h -> q)), Keras's initialisation (Glorot-uniform
kernels with fans over the full kernel, zero biases), the same loss (mean cross-entropy over every
pixel, in nats), Adam with epsilon 1e-7 and the seed's per-step learning-rate decay, and global-norm
gradient clipping at 1.0 (`tf.clip_by_global_norm`). PyTorch's Adam adds epsilon to the
bias-corrected sqrt(v) where Keras adds it to the uncorrected one: the numbers differ slightly in the
first steps, the cost does not.

The gated PixelCNN is crates/model/src/gated/ (van den Oord et al., 2016, "Conditional Image
Generation with PixelCNN Decoders"): `--layers` gated layers of `--channels` channels, kernel
`--kernel` n; each layer's vertical stack is a (n//2 + 1) x n convolution over the input padded by
n//2 zeros above and on the sides (none below), its horizontal stack a 1 x (n//2 + 1) convolution
(1 x n//2 in the first layer, which must not see the current pixel) over the input padded by n//2
zeros on the left; the vertical pre-activations go one row down (one zero row above, the last row
dropped) through a 1x1 convolution into the horizontal pre-activations; gates tanh(a) * sigmoid(b);
a 1x1 convolution after the horizontal gate, plus the layer's input except in the first layer;
the head relu -> 1x1 (c -> c) -> relu -> 1x1 (c -> q). Same initialisation, loss and optimiser.

One invocation makes one measurement and prints one JSON object on stdout (the harness starts a
fresh process per measurement so that the peak RSS it reports belongs to that measurement):

  python pixelcnn_reference.py train  --levels 256 --layout channels_last --threads 2
  python pixelcnn_reference.py train  --family gated --layers 15 --channels 64 --kernel 3
  python pixelcnn_reference.py sample --levels 2 --layout nchw --threads 2 --pixels 8
  python pixelcnn_reference.py info

Layouts: `nchw` (contiguous tensors, PyTorch's default) and `channels_last` (NHWC memory format,
which oneDNN prefers on CPUs).
"""

import argparse
import gzip
import json
import math
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


# --------------------------------------------------------------------------------------------------
# The model


def mask(kernel_size, mask_type):
    """The seed's mask: ones, then mask[c, c + (type == B):] = 0 and mask[c + 1:, :] = 0."""
    c = kernel_size // 2
    m = torch.ones(kernel_size, kernel_size)
    m[c, c + (mask_type == "B"):] = 0.0
    m[c + 1:, :] = 0.0
    return m


def glorot_(weight):
    """Keras's glorot_uniform on a [out, in, k, k] kernel: fans over the full (unmasked) kernel.

    torch's xavier_uniform_ computes fan_in = in * k * k and fan_out = out * k * k, as Keras does.
    """
    nn.init.xavier_uniform_(weight, gain=1.0)


class MaskedConv2d(nn.Module):
    """The seed's MaskedConv2D: 'same' padding, stride 1, kernel multiplied by the mask at every use."""

    def __init__(self, in_channels, out_channels, kernel_size, mask_type):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("mask", mask(kernel_size, mask_type).expand_as(self.weight).clone())
        self.padding = kernel_size // 2
        glorot_(self.weight)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def conv(in_channels, out_channels, kernel=(1, 1)):
    """An unpadded convolution, Glorot-uniform kernel and zero bias (the caller pads)."""
    layer = nn.Conv2d(in_channels, out_channels, kernel)
    glorot_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def conv1x1(in_channels, out_channels):
    return conv(in_channels, out_channels)


class ResidualBlock(nn.Module):
    def __init__(self, h):
        super().__init__()
        self.conv2a = conv1x1(2 * h, h)
        self.conv2b = MaskedConv2d(h, h, 3, "B")
        self.conv2c = conv1x1(h, 2 * h)

    def forward(self, x):
        y = self.conv2a(F.relu(x))
        y = self.conv2b(F.relu(y))
        y = self.conv2c(F.relu(y))
        return y + x


class PixelCnn(nn.Module):
    def __init__(self, levels, blocks=15, hidden=64, first_kernel=7):
        super().__init__()
        self.levels = levels
        self.input_conv = MaskedConv2d(1, 2 * hidden, first_kernel, "A")
        self.blocks = nn.ModuleList(ResidualBlock(hidden) for _ in range(blocks))
        self.hidden_conv = conv1x1(2 * hidden, 2 * hidden)
        self.output_conv = conv1x1(2 * hidden, levels)

    def forward(self, x):
        x = self.input_conv(x)
        for block in self.blocks:
            x = block(x)
        x = self.hidden_conv(F.relu(x))
        return self.output_conv(F.relu(x))


def gate(x):
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """crates/model/src/gated/layer.rs: vertical and horizontal stacks, no masks (causal padding)."""

    def __init__(self, in_channels, channels, kernel, first):
        super().__init__()
        half = kernel // 2
        self.half = half
        self.first = first
        self.vertical = conv(in_channels, 2 * channels, (half + 1, kernel))
        self.horizontal = conv(in_channels, 2 * channels, (1, half if first else half + 1))
        self.vertical_to_horizontal = conv(2 * channels, 2 * channels)
        self.output = conv(channels, channels)

    def forward(self, v, h, keep_vertical):
        height, width = h.shape[2], h.shape[3]
        p = self.half
        v_pre = self.vertical(F.pad(v, (p, p, p, 0)))
        h_pre = self.horizontal(F.pad(h, (p, 0, 0, 0)))[:, :, :, :width]
        shifted = self.vertical_to_horizontal(F.pad(v_pre, (0, 0, 1, 0)))[:, :, :height, :]
        out = self.output(gate(h_pre + shifted))
        if not self.first:
            out = out + h
        return (gate(v_pre) if keep_vertical else None), out


class GatedPixelCnn(nn.Module):
    def __init__(self, levels, layers=15, channels=64, kernel=3):
        super().__init__()
        self.levels = levels
        self.layers = nn.ModuleList(
            GatedLayer(1 if i == 0 else channels, channels, kernel, i == 0) for i in range(layers)
        )
        self.hidden_conv = conv1x1(channels, channels)
        self.output_conv = conv1x1(channels, levels)

    def forward(self, x):
        v, h = x, x
        for i, layer in enumerate(self.layers):
            v, h = layer(v, h, i + 1 < len(self.layers))
        x = self.hidden_conv(F.relu(h))
        return self.output_conv(F.relu(x))


# --------------------------------------------------------------------------------------------------
# Data


def load_levels(mnist_dir, count, levels, seed):
    """The first `count` MNIST training images quantised like the seed (level = min(q*b//255, q-1)),
    or seeded random levels when no MNIST folder is given or found. Returns (uint8 [count, 28, 28],
    source). Only torch is needed (no numpy), so that any machine with torch can run it."""
    if mnist_dir:
        for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
            path = Path(mnist_dir) / name
            if path.exists():
                raw = bytearray(gzip.open(path).read() if name.endswith(".gz") else path.read_bytes())
                n, rows, cols = (int.from_bytes(raw[4 * i:4 * i + 4], "big") for i in (1, 2, 3))
                images = torch.frombuffer(raw, dtype=torch.uint8, offset=16).reshape(n, rows, cols)
                images = images[torch.arange(count) % n]  # repeats when count > n
                q = torch.clamp_max(levels * images.to(torch.int64) // 255, levels - 1)
                return q.to(torch.uint8), "mnist"
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, levels, (count, 28, 28), generator=generator, dtype=torch.uint8), "synthetic"


def to_layout(t, layout):
    return t.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else t.contiguous()


# --------------------------------------------------------------------------------------------------
# Measurements


def peak_rss_bytes():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def build_model(args):
    torch.manual_seed(args.seed)
    if args.family == "gated":
        model = GatedPixelCnn(args.levels, args.layers, args.channels, args.kernel)
    else:
        model = PixelCnn(args.levels, args.blocks, args.hidden, args.first_kernel)
    if args.layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    return model


def measure_train(args):
    """Timed training steps: warm-up steps, then `reps` windows of `steps` steps each."""
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch.cuda.is_available() is False")
    model = build_model(args).to(device)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    lr, decay = 1e-3, 0.999995
    total_steps = args.warmup + args.reps * args.steps
    levels, source = load_levels(args.mnist, args.batch * total_steps, args.levels, args.seed)
    top = float(args.levels - 1)
    loss_sum = torch.zeros((), device=device)
    stamps = []
    for step in range(total_steps):
        chunk = levels[step * args.batch:(step + 1) * args.batch].to(device)
        inputs = to_layout((chunk.float() / top).unsqueeze(1), args.layout)
        targets = chunk.long()
        # The seed multiplies the rate before each step.
        lr *= decay
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss_sum += loss.detach() * chunk.shape[0]
        # Read the loss every 10 steps, as pixelcnn-lab's trainer does.
        if (step + 1) % 10 == 0 or step + 1 == total_steps:
            loss_value = loss_sum.item()
            if not math.isfinite(loss_value):
                raise SystemExit(f"diverged at step {step + 1}")
        # A CUDA step is queued, not done, when the call returns.
        if device.type == "cuda":
            torch.cuda.synchronize()
        stamps.append(time.perf_counter())
    windows = []
    for r in range(args.reps):
        start = stamps[args.warmup + r * args.steps - 1] if args.warmup + r * args.steps > 0 else None
        end = stamps[args.warmup + (r + 1) * args.steps - 1]
        if start is None:
            raise SystemExit("at least one warm-up step is needed")
        windows.append(args.steps * args.batch / (end - start))
    return {
        "images_per_second": statistics.median(windows),
        "reps": windows,
        "data": source,
        "final_loss_nats": float(loss.item()),
        "params": sum(p.numel() for p in model.parameters()),
    }


@torch.inference_mode()
def measure_sample(args):
    """Naive sampling: one full forward pass of the batch per generated pixel, timed over a few
    pixels (the cost per pixel does not depend on the position) and scaled to every pixel."""
    model = build_model(args)
    model.eval()
    n, height, width = args.sample_batch, 28, 28
    generator = torch.Generator().manual_seed(args.seed)
    levels = torch.zeros(n, height, width, dtype=torch.long)
    top = float(args.levels - 1)
    # Warm-up pass: oneDNN primitive creation and weight reordering happen on first use.
    model(to_layout((levels.float() / top).unsqueeze(1), args.layout))
    per_pixel = []
    position = height * width - 1
    for _ in range(args.reps):
        start = time.perf_counter()
        for _ in range(args.pixels):
            row, col = divmod(position, width)
            inputs = to_layout((levels.float() / top).unsqueeze(1), args.layout)
            logits = model(inputs)[:, :, row, col]
            # Inverse-CDF draw on the host, like pixelcnn_model::draw_level.
            probs = torch.softmax(logits.double(), dim=1)
            u = torch.rand(n, 1, generator=generator, dtype=torch.float64)
            drawn = (probs.cumsum(1) <= u).sum(1).clamp_max(args.levels - 1)
            levels[:, row, col] = drawn
            position = (position - 1) % (height * width)
        per_pixel.append((time.perf_counter() - start) / args.pixels)
    seconds_per_pixel = statistics.median(per_pixel)
    return {
        "seconds_per_pixel": seconds_per_pixel,
        "reps_seconds_per_pixel": per_pixel,
        "pixels_timed": args.pixels,
        "seconds_per_batch": seconds_per_pixel * height * width,
        "extrapolated": True,
    }


def info():
    config = torch.__config__.show()
    libraries = []
    for line in config.splitlines():
        if m := re.search(r"Math Kernel Library Version (\S+?)-", line):
            libraries.append(f"MKL {m.group(1)}")
        elif m := re.search(r"MKL-DNN (v\S+)", line):
            libraries.append(f"oneDNN {m.group(1)}")
        elif m := re.search(r"a\.k\.a\. (OpenMP [\d.]+)", line):
            libraries.append(m.group(1))
        elif "CPU capability usage" in line:
            libraries.append(line.strip(" -"))
    return {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "cuda": torch.version.cuda,
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "libraries": libraries,
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "torch_lib": str(Path(torch.__file__).parent / "lib"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["train", "sample", "info"])
    parser.add_argument("--levels", type=int, default=256)
    parser.add_argument("--family", choices=["pixelcnn", "gated"], default="pixelcnn")
    parser.add_argument("--blocks", type=int, default=15, help="pixelcnn: residual blocks")
    parser.add_argument("--hidden", type=int, default=64, help="pixelcnn: h")
    parser.add_argument("--first-kernel", type=int, default=7, help="pixelcnn: mask-A kernel")
    parser.add_argument("--layers", type=int, default=15, help="gated: layers")
    parser.add_argument("--channels", type=int, default=64, help="gated: channels")
    parser.add_argument("--kernel", type=int, default=3, help="gated: kernel size n")
    parser.add_argument("--layout", choices=["nchw", "channels_last"], default="nchw")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch", type=int, default=128, help="training batch")
    parser.add_argument("--warmup", type=int, default=2, help="untimed training steps")
    parser.add_argument("--steps", type=int, default=2, help="training steps per timed window")
    parser.add_argument("--reps", type=int, default=3, help="timed windows; the median is reported")
    parser.add_argument("--sample-batch", type=int, default=100)
    parser.add_argument("--pixels", type=int, default=8, help="pixels timed per sampling repetition")
    parser.add_argument("--mnist", default=None, help="folder of the MNIST IDX files (else random levels)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="train: where to train")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    out = {"mode": args.mode, "threads": torch.get_num_threads()}
    if args.mode == "info":
        out.update(info())
    else:
        out.update({"levels": args.levels, "layout": args.layout, "family": args.family})
        if args.family == "gated":
            out.update({"layers": args.layers, "channels": args.channels, "kernel": args.kernel})
        else:
            out.update({"blocks": args.blocks, "hidden": args.hidden})
        if args.mode == "train":
            out.update({"batch": args.batch, "warmup": args.warmup, "steps": args.steps, "device": args.device})
            out.update(measure_train(args))
        else:
            out.update({"sample_batch": args.sample_batch})
            out.update(measure_sample(args))
        out["peak_rss_bytes"] = peak_rss_bytes()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
