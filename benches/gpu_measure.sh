#!/usr/bin/env bash
# One call measures everything on a lent GPU machine that has no Rust: unpacks the bundle
# benches/gpu_prepare.sh built (.gpu-bundle/), runs the GPU test executables,
# `starskope bench --device gpu --json` at f32 and f16, and
# `compare_pytorch.py --device gpu` (PyTorch CUDA with TF32 on and off) on the f32 figures,
# and leaves at most 8 files in $OUT (default ./gpu-measure-out): summary.txt (each
# stage's verdict and time, what was skipped and why), env.log, tests.log, bench.log,
# bench_f32.json, bench_f16.json, compare_pytorch.md. Every stage runs under a timeout
# taken from one budget (GPU_MEASURE_SECONDS, default 450 s), so the call ends in time.
# See "Measuring on a lent GPU" in benches/RESULTS.md.
#
#     benches/gpu_measure.sh [--quick]
#
# --quick: a smoke run (software Vulkan): benches of seed-lstm and fcn at --quick --length
# 64 (seed-cnn needs 1024), tests filtered to the LSTM's.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$root/gpu-measure-out}
quick=0
[ "${1:-}" = --quick ] && quick=1
deadline=$((SECONDS + ${GPU_MEASURE_SECONDS:-450}))
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

work=$(mktemp -d)
links=()
cleanup() {
    rm -f "${links[@]}"
    rm -rf "$work"
}
trap cleanup EXIT
if ! tar -C "$work" -xJf .gpu-bundle/bundle.tar.xz; then
    note "no .gpu-bundle/bundle.tar.xz: run benches/gpu_prepare.sh where Rust is, and carry .gpu-bundle"
    exit 1
fi
field() { sed -n "s/^$1=//p" "$work/manifest"; }
build_root=$(field build_root)
note "bundle: commit $(field commit), built $(field built) in $build_root; this checkout: $root"

# The tests have the build's paths compiled in: CARGO_MANIFEST_DIR (their fixtures), its
# target/release/starskope and ../shared/golden. Where that root does not exist (a lent
# machine), it is recreated: this checkout's files, the bundled binary and golden values.
if [ ! -e "$build_root" ]; then
    mkdir -p "$work/tree" "$(dirname "$build_root")"
    for f in "$root"/*; do
        [ "$(basename "$f")" = target ] || ln -s "$f" "$work/tree/"
    done
    mkdir -p "$work/tree/target/release"
    cp "$work/starskope" "$work/tree/target/release/starskope"
    ln -s "$work/tree" "$build_root"
    links+=("$build_root")
    shared=$(dirname "$build_root")/shared
    if [ ! -e "$shared" ]; then
        ln -s "$work/shared" "$shared"
        links+=("$shared")
    fi
    note "recreated $build_root (-> this checkout + the bundled binary) and $shared"
elif [ "$(field commit)" != "$(git rev-parse --short HEAD 2>/dev/null)" ]; then
    note "WARNING: $build_root exists here and its HEAD is not the bundle's commit: tests read its files"
fi

export NODEVICE_SELECT=1
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
    export LD_LIBRARY_PATH="$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    note "Vulkan loader: the bundled one (none installed)"
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ] &&
    ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$nvidia_icd
    note "Vulkan driver: $nvidia_icd"
fi

# stage NAME MAX_SECONDS LOG COMMAND: runs COMMAND (bash) under the smaller of MAX_SECONDS
# and the time left, appending its output to LOG, and writes its verdict to the summary.
stage() {
    local name=$1 max=$2 log=$3 cmd=$4
    local left=$((deadline - SECONDS))
    if [ "$left" -lt 15 ]; then
        note "$name: SKIPPED, out of time"
        return
    fi
    local limit=$((max < left ? max : left)) start=$SECONDS rc
    echo "=== $name (limit ${limit}s): $cmd" >>"$log"
    timeout -k 5 "$limit" bash -c "$cmd" >>"$log" 2>&1
    rc=$?
    case $rc in
        0) note "$name: ok in $((SECONDS - start)) s" ;;
        124 | 137) note "$name: TIMED OUT after ${limit} s (see $(basename "$log"))" ;;
        *) note "$name: FAILED, exit $rc, in $((SECONDS - start)) s (see $(basename "$log"))" ;;
    esac
}

bin=$work/starskope
filter=""
bench_args=""
if [ "$quick" = 1 ]; then
    filter=lstm
    bench_args="--quick --preset seed-lstm --preset fcn --length 64"
    note "--quick: tests filtered to '$filter', benches at $bench_args"
fi

{
    date -u
    cat "$work/manifest"
    nvidia-smi 2>&1 || echo "no nvidia-smi"
    "$bin" devices 2>&1
} >"$out/env.log"

run_tests() {
    for t in "$@"; do
        stage "test $t" 150 "$work/$t.log" "'$work/tests/$t' $filter"
        grep -h "^test result:" "$work/$t.log" | sed "s/^/  $t: /" | tee -a "$summary"
        cat "$work/$t.log" >>"$out/tests.log"
    done
}
# the kernels first: a wrong kernel makes the figures after it meaningless
run_tests gpu_ops
for p in f32 f16; do
    stage "bench $p" 120 "$out/bench.log" \
        "'$bin' bench --device gpu --json --precision $p $bench_args >'$out/bench_$p.json'"
done
if [ -s "$out/bench_f32.json" ]; then
    stage "compare_pytorch" 180 "$out/compare_pytorch.md" \
        "python3 '$work/compare_pytorch.py' --device gpu --ours-json '$out/bench_f32.json' $([ $quick = 1 ] && echo --quick)"
    grep -i "skipping\|not installed\|no CUDA" "$out/compare_pytorch.md" | sed 's/^/compare_pytorch: /' | tee -a "$summary"
else
    note "compare_pytorch: SKIPPED, no bench_f32.json"
fi
run_tests gpu_train gpu_split gpu_lost gpu_verify bench_counts survey bad_input
note "adapter in the benches: $(grep -ho '"device": "[^"]*"' "$out"/bench_*.json 2>/dev/null | sort -u | tr '\n' ' ')"
note "total $SECONDS s"
