#!/usr/bin/env python3
"""Where PyTorch spends a training step of the seed PixelCNN on the CPU, for comparison with
pixelcnn-lab's `cargo run --release -p pixelcnn-bench --example profile_step` (issue 7, part 4).

  python profile_reference.py --threads 1 --levels 256 --batch 128 --layout nchw
  python profile_reference.py --threads 1 --layout channels_last --section ops

Sections: `step` (phases of a step, then torch.profiler's table of the busiest ops), `ops`
(forward and libtorch's native backward of every convolution shape, timed one by one).
Times are medians in milliseconds.
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from pixelcnn_reference import PixelCnn, mask, to_layout

SIDE = 28

# With one intra-op thread, libtorch computes on the calling thread: its CPU time is the cost of a
# phase even when other processes share the cores. Set from --threads in main().
clock = time.perf_counter


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        start = clock()
        fn()
        times.append((clock() - start) * 1e3)
    return statistics.median(times)


def batch(args, generator):
    levels = torch.randint(0, args.levels, (args.batch, SIDE, SIDE), generator=generator)
    inputs = to_layout((levels.float() / (args.levels - 1)).unsqueeze(1), args.layout)
    return inputs, levels


def step_section(args):
    torch.manual_seed(42)
    model = PixelCnn(args.levels, args.blocks, args.hidden)
    if args.layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    generator = torch.Generator().manual_seed(1)
    names = ["batch", "forward", "loss", "backward", "clip", "adam", "read"]
    phases = [[] for _ in names]

    def one_step(record):
        stamps = [clock()]
        inputs, targets = batch(args, generator)
        stamps.append(clock())
        logits = model(inputs)
        stamps.append(clock())
        loss = F.cross_entropy(logits, targets)
        stamps.append(clock())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        stamps.append(clock())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        stamps.append(clock())
        optimizer.step()
        stamps.append(clock())
        loss.item()
        stamps.append(clock())
        if record:
            for i in range(len(names)):
                phases[i].append((stamps[i + 1] - stamps[i]) * 1e3)

    one_step(False)
    for _ in range(args.reps):
        one_step(True)
    medians = [statistics.median(p) for p in phases]
    total = sum(medians)
    print(f"\n## step ({args.layout})")
    for name, ms in zip(names, medians):
        print(f"{name:<10} {ms:>10.1f} {100 * ms / total:>6.1f}%")
    print(f"{'total':<10} {total:>10.1f}  => {args.batch / (total / 1e3):.2f} images/s")

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        one_step(False)
    print(f"\n## torch.profiler, one step ({args.layout}), by self CPU time")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def ops_section(args):
    h, s, n, b = args.hidden, 2 * args.hidden, args.blocks, args.batch
    layers = [
        ("input 7x7 A 1->2h", 1, s, 7, "A", 1, False),
        ("block 1x1 2h->h", s, h, 1, None, n, True),
        ("block 3x3 B h->h", h, h, 3, "B", n, True),
        ("block 1x1 h->2h", h, s, 1, None, n, True),
        ("head 1x1 2h->2h", s, s, 1, None, 1, True),
        ("head 1x1 2h->q", s, args.levels, 1, None, 1, True),
    ]
    print(f"\n## convolutions ({args.layout}), batch {b}: forward and native backward (ms per call)")
    print(f"{'layer':<20} {'count':>5} {'fwd':>8} {'bwd':>8}")
    totals = [0.0, 0.0]
    for name, cin, cout, k, mask_type, count, input_grad in layers:
        x = to_layout(torch.randn(b, cin, SIDE, SIDE), args.layout).requires_grad_(input_grad)
        w = torch.randn(cout, cin, k, k) * 0.1
        if args.layout == "channels_last":
            w = w.contiguous(memory_format=torch.channels_last)
        w.requires_grad_(True)
        bias = torch.zeros(cout, requires_grad=True)
        m = mask(k, mask_type).expand(cout, cin, k, k).clone() if mask_type else torch.ones(cout, cin, k, k)
        g = to_layout(torch.randn(b, cout, SIDE, SIDE), args.layout)
        p = k // 2

        def fwd():
            with torch.no_grad():
                return F.conv2d(x, w * m, bias, padding=p)

        def bwd():
            y = F.conv2d(x, w * m, bias, padding=p)
            inputs = [x, w, bias] if input_grad else [w, bias]
            start = clock()
            torch.autograd.grad(y, inputs, grad_outputs=g)
            return (clock() - start) * 1e3

        f = median_ms(fwd, args.reps)
        bwd()
        bw = statistics.median(bwd() for _ in range(args.reps))
        totals[0] += count * f
        totals[1] += count * bw
        print(f"{name:<20} {count:>5} {f:>8.1f} {bw:>8.1f}")
    print(f"per step (x count): fwd {totals[0]:.0f} ms, bwd {totals[1]:.0f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--levels", type=int, default=256)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--blocks", type=int, default=15)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layout", choices=["nchw", "channels_last"], default="nchw")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=15, help="rows of the profiler table")
    parser.add_argument("--section", choices=["step", "ops", "all"], default="all")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    global clock
    clock = time.thread_time if args.threads == 1 else time.perf_counter
    what = "thread CPU" if args.threads == 1 else "wall"
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} thread(s), q = {args.levels}, batch {args.batch} ({what} ms)")
    if args.section in ("step", "all"):
        step_section(args)
    if args.section in ("ops", "all"):
        ops_section(args)


if __name__ == "__main__":
    main()
