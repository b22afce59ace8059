#!/usr/bin/env python3
"""Starskøpe against PyTorch on the same machine: training and inference samples/s of the
three presets (seed-cnn, seed-lstm, fcn), built layer for layer as src/model/presets.rs
builds them, at the batch, channels and series length `starskope bench` reports.

CPU: our CPU backend against PyTorch CPU with the same thread count (the rayon threads
`starskope bench` reports). GPU (`--device gpu`, when PyTorch sees CUDA): our WGSL backend
against PyTorch CUDA on the same card, twice: with TF32 allowed (cuDNN's default for
convolutions; here for matrix products too) and with TF32 off (full f32 arithmetic, as ours
at --precision f32), one row each.

    cargo build --release
    python3 benches/compare_pytorch.py [--device cpu|gpu] [--quick] [--preset NAME] [--length N]
                                       [--threads N] [--repeats N]

Prints a Markdown table of both sides and the ratio ours / PyTorch (above 1: we are
faster). With --repeats N both sides run N times, interleaved (ours, then PyTorch, per
repeat), and the table gives the medians and each repeat's training ratio: on a shared
machine the load then falls on both sides alike. Without PyTorch installed it says so and
exits 0.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "starskope")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--quick", action="store_true", help="fewer runs per figure, on both sides")
    p.add_argument("--preset", action="append", default=[], help="repeatable; default: all three")
    p.add_argument("--length", type=int, help="series length for every preset (both sides)")
    p.add_argument("--threads", type=int,
                   help="threads on both sides (RAYON_NUM_THREADS for ours); default: all cores")
    p.add_argument("--binary", default=BINARY, help="the starskope binary (default: target/release)")
    p.add_argument("--ours-json", help="use this saved `starskope bench --json` output instead of running it")
    p.add_argument("--repeats", type=int, default=1,
                   help="run both sides this many times, interleaved, and report medians (default 1)")
    return p.parse_args()


def run_ours(args):
    if args.ours_json:
        with open(args.ours_json) as f:
            return json.load(f)
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run `cargo build --release` first")
    cmd = [args.binary, "bench", "--json", "--no-ops", "--device", args.device]
    if args.quick:
        cmd.append("--quick")
    if args.length:
        cmd += ["--length", str(args.length)]
    for p in args.preset:
        cmd += ["--preset", p]
    env = dict(os.environ)
    if args.threads:
        env["RAYON_NUM_THREADS"] = str(args.threads)
    print("running:", " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def build(torch, preset, channels, length):
    """The preset as a torch module and its loss; mirrors src/model/presets.rs."""
    nn = torch.nn

    if preset == "seed-cnn":
        # Keras batch norm defaults: eps 1e-3, decay 0.99 (PyTorch momentum 0.01)
        def block(c_in, c_out, bn=True):
            layers = [nn.Conv1d(c_in, c_out, 11), nn.ReLU(), nn.MaxPool1d(2, stride=4)]
            if bn:
                layers.append(nn.BatchNorm1d(c_out, eps=1e-3, momentum=0.01))
            return layers

        features = nn.Sequential(*block(channels, 8), *block(8, 16), *block(16, 32), *block(32, 64, bn=False))
        flat = features(torch.zeros(1, channels, length)).numel()
        model = nn.Sequential(
            features,
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(flat, 64),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 1),
        )
        return model, nn.BCEWithLogitsLoss(), 3e-4, "sigmoid"

    if preset == "seed-lstm":

        class SeedLstm(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm1 = nn.LSTM(channels, 128, batch_first=True)
                self.lstm2 = nn.LSTM(128, 64, batch_first=True)
                self.drop = nn.Dropout(0.3)
                self.head = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 2))

            def forward(self, x):
                h, _ = self.lstm1(x)
                h, _ = self.lstm2(self.drop(h))
                return self.head(self.drop(h[:, -1]))

        return SeedLstm(), nn.CrossEntropyLoss(), 1e-3, "softmax"

    if preset == "fcn":

        def block(c_in, c_out, k):
            return [nn.Conv1d(c_in, c_out, k, padding="same"), nn.BatchNorm1d(c_out), nn.ReLU()]

        model = nn.Sequential(
            *block(channels, 128, 8),
            *block(128, 256, 5),
            *block(256, 128, 3),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
            nn.Linear(128, 2),
        )
        return model, nn.CrossEntropyLoss(), 1e-3, "softmax"

    raise SystemExit(f"no PyTorch twin for preset {preset!r}")


def timed_runs(fn, sync, quick):
    """Median seconds of fn() after two warm-up calls; at least 3 runs (1 with --quick),
    more while under 2 s (0.5 s), at most 20 (5): the budget `starskope bench` uses."""
    min_runs, max_runs, budget = (1, 5, 0.5) if quick else (3, 20, 2.0)
    for _ in range(2):
        fn()
    sync()
    runs = []
    while len(runs) < min_runs or (len(runs) < max_runs and sum(runs) < budget):
        start = time.perf_counter()
        fn()
        sync()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def torch_modes(torch, torch_device):
    """The PyTorch settings each preset is measured under: (label, set them up)."""
    if torch_device != "cuda":
        return [(None, lambda: None)]

    def tf32(allowed):
        def setup():
            torch.backends.cudnn.allow_tf32 = allowed
            torch.backends.cuda.matmul.allow_tf32 = allowed
        return setup

    return [("TF32 on", tf32(True)), ("TF32 off", tf32(False))]


def measure_torch(torch, workload, device, quick):
    preset, batch, channels, length = (workload[k] for k in ("preset", "batch", "channels", "length"))
    model, loss_fn, lr, head = build(torch, preset, channels, length)
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    gen = torch.Generator().manual_seed(42)
    shape = (batch, length, channels) if preset == "seed-lstm" else (batch, channels, length)
    x = (torch.rand(shape, generator=gen) * 4 - 2).to(device)
    labels = torch.arange(batch) % 2
    target = (labels.float().unsqueeze(1) if head == "sigmoid" else labels).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()

    model.train()
    train_s = timed_runs(train_step, sync, quick)

    def infer():
        with torch.inference_mode():
            logits = model(x)
            return torch.sigmoid(logits) if head == "sigmoid" else torch.softmax(logits, dim=1)

    model.eval()
    infer_s = timed_runs(infer, sync, quick)
    return batch / train_s, batch / infer_s, train_s


def main():
    args = parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install torch): nothing to compare against; skipping.")
        return 0
    if args.device == "gpu" and not torch.cuda.is_available():
        print("--device gpu: PyTorch sees no CUDA device; the GPU comparison needs an NVIDIA GPU. Skipping.")
        return 0

    torch_device = "cuda" if args.device == "gpu" else "cpu"
    modes = torch_modes(torch, torch_device)
    # per repeat: (ours report, {(preset, mode label): (train, infer, step_s)})
    runs = []
    for _ in range(max(args.repeats, 1)):
        ours = run_ours(args)
        threads = ours["threads"]
        torch.set_num_threads(threads)
        theirs = {}
        for p in ours["presets"]:
            if p["throughput"] is None:
                continue
            for label, setup in modes:
                setup()
                theirs[(p["workload"]["preset"], label)] = measure_torch(
                    torch, p["workload"], torch_device, args.quick
                )
        runs.append((ours, theirs))
    torch_name = torch.cuda.get_device_name(0) if torch_device == "cuda" else f"CPU, {threads} threads"

    print(f"Starskøpe: {ours['device']}; PyTorch {torch.__version__}: {torch_name}")
    print(f"load average after the runs: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores; "
          f"{len(runs)} interleaved repeat(s), medians")
    print()
    # on the GPU a column says which PyTorch setting the row's figures are for
    mode_head, mode_rule = ("| PyTorch math ", "|---") if modes[0][0] else ("", "")
    print(f"| preset {mode_head}| batch | length | ours train smp/s | PyTorch train smp/s | train ratio "
          "| ours infer smp/s | PyTorch infer smp/s | infer ratio | PyTorch ms/step | train ratio per repeat |")
    print(f"|---{mode_rule}|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    med = statistics.median
    for p in ours["presets"]:
        w = p["workload"]
        name = w["preset"]
        if p["throughput"] is None:
            print(f"| {name} {'| ' if modes[0][0] else ''}| {w['batch']} | {w['length']} "
                  f"| skipped: {p['skipped']} | | | | | | | |")
            continue
        ours_of = [next(q["throughput"] for q in o["presets"] if q["workload"]["preset"] == name) for o, _ in runs]
        train = [o["train_samples_per_s"] for o in ours_of]
        infer = [o["infer_samples_per_s"] for o in ours_of]
        for label, _ in modes:
            their = [t[(name, label)] for _, t in runs]
            ratios = [a / b[0] for a, b in zip(train, their)]
            mode_cell = f"| {label} " if label else ""
            print(
                f"| {name} {mode_cell}| {w['batch']} | {w['length']} "
                f"| {med(train):.1f} | {med(b[0] for b in their):.1f} | {med(ratios):.2f} "
                f"| {med(infer):.1f} | {med(b[1] for b in their):.1f} "
                f"| {med(a / b[1] for a, b in zip(infer, their)):.2f} "
                f"| {med(b[2] for b in their) * 1e3:.1f} | {', '.join(f'{r:.2f}' for r in ratios)} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
