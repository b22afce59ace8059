#!/usr/bin/env bash
# Builds everything benches/gpu_measure.sh runs on a lent GPU machine, which has no Rust:
# the release binary, the GPU test executables, compare_pytorch.py, the golden values the
# tests read, and the Vulkan loader, stripped and packed as one archive in an ignored
# folder, .gpu-bundle/ (in .gitignore), that the device call carries. See "Measuring on a
# lent GPU" in benches/RESULTS.md.
#
#     benches/gpu_prepare.sh
set -euo pipefail

root=$(git rev-parse --show-toplevel)
cd "$root"
bundle=.gpu-bundle
shared=$(cd "$root/.." && pwd)/shared
# the test executables that open a GPU (tests/*.rs that use GpuBackend or --device gpu)
tests=(gpu_ops gpu_train gpu_split gpu_lost gpu_verify bench_counts survey bad_input)

loader=$(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ {print $NF; exit}')
[ -n "$loader" ] || { echo "no libvulkan.so.1 here: apt-get install libvulkan1" >&2; exit 1; }
[ -d "$shared/golden" ] || { echo "$shared/golden not found: the tests read the golden values there" >&2; exit 1; }

export NODEVICE_SELECT=1
cargo build --release
# the test executables' paths, from cargo's JSON messages
cargo test --release --no-run --message-format=json >target/gpu_prepare_tests.json
exes=$(python3 - target/gpu_prepare_tests.json "${tests[@]}" <<'PY'
import json, sys
wanted = set(sys.argv[2:])
found = {}
for line in open(sys.argv[1]):
    m = json.loads(line)
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in t.get("kind", []):
        if t["name"] in wanted:
            found[t["name"]] = m["executable"]
missing = wanted - found.keys()
if missing:
    sys.exit(f"test executables not built: {sorted(missing)}")
print("\n".join(f"{k} {v}" for k, v in sorted(found.items())))
PY
)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/tests" "$stage/lib" "$stage/shared"
strip -o "$stage/starskope" target/release/starskope
while read -r name exe; do
    strip -o "$stage/tests/$name" "$exe"
done <<<"$exes"
cp -L "$loader" "$stage/lib/libvulkan.so.1"
cp benches/compare_pytorch.py "$stage/"
cp -r "$shared/golden" "$stage/shared/"
# The tests have the build's paths compiled in (CARGO_MANIFEST_DIR, CARGO_BIN_EXE_*):
# gpu_measure.sh recreates them on the device machine.
{
    echo "build_root=$root"
    echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo -dirty)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$stage/manifest"
rm -rf "$bundle"
mkdir -p "$bundle"
tar -C "$stage" -cf - . | xz -T0 -6 >"$bundle/bundle.tar.xz"
cat "$stage/manifest"
echo "$bundle/bundle.tar.xz: $(du -h "$bundle/bundle.tar.xz" | cut -f1)"
