#!/usr/bin/env bash
# What our crates cost a new user, against axum-prometheus, in one run.
#
# Makes scratch binaries in a temporary directory, each with `axum = "0.8"` and
# `tokio = { version = "1", features = ["full"] }` ("bare"), then adds:
#   ours     metrics-axum + metrics-toolkit (by path, default features)
#   ours+exp the same + metrics-exporter (default features)
#   axum-prometheus  axum-prometheus = "0.10"
# For each it counts the crates of `cargo tree -e normal --prefix none`: the distinct
# `name version` lines of the normal (not build, not dev) dependency tree, the scratch crate
# itself left out. It then builds each clean in debug, one after the other, each with its own
# target directory (downloads are fetched first and not timed), and prints the crates and the
# seconds over bare, and whether ring, aws-lc, openssl-sys or cc (a C/asm build, looked for in the
# normal and build dependencies) is in the tree. Needs only the crates.io registry. The
# temporary directory is removed at the end.
#
# Usage: bash benches/scripts/weight.sh [--count-only] [variant...]   (default: all four)
# --count-only skips the builds (seconds are shown as 0).
set -euo pipefail
build=1
if [ "${1:-}" = --count-only ]; then build=0; shift; fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

bare_deps='axum = "0.8"
tokio = { version = "1", features = ["full"] }'

deps_of() {
  case "$1" in
    bare) echo "$bare_deps" ;;
    ours) printf '%s\nmetrics-axum = { path = "%s/metrics-axum" }\nmetrics-toolkit = { path = "%s/metrics-core" }\n' \
      "$bare_deps" "$root" "$root" ;;
    ours+exp) printf '%s\nmetrics-axum = { path = "%s/metrics-axum" }\nmetrics-toolkit = { path = "%s/metrics-core" }\nmetrics-exporter = { path = "%s/metrics-exporter" }\n' \
      "$bare_deps" "$root" "$root" "$root" ;;
    axum-prometheus) printf '%s\naxum-prometheus = "0.10"\n' "$bare_deps" ;;
    *) echo "unknown variant $1 (bare, ours, ours+exp, axum-prometheus)" >&2; exit 2 ;;
  esac
}

variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(bare ours ours+exp axum-prometheus)
# bare is the reference: always measured, first.
list=(bare)
for v in "${variants[@]}"; do [ "$v" = bare ] || list+=("$v"); done

declare -A crates seconds native
for v in "${list[@]}"; do
  dir="$scratch/${v//+/_}"
  mkdir -p "$dir/src"
  printf '[package]\nname = "scratch"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[dependencies]\n%s\n' \
    "$(deps_of "$v")" > "$dir/Cargo.toml"
  echo 'fn main() {}' > "$dir/src/main.rs"
  (cd "$dir" && cargo fetch -q)
  crates[$v]=$(cd "$dir" && cargo tree -q -e normal --prefix none \
    | sed 's/ (\*)$//; s/ (proc-macro)//; s/ (\/.*)$//' | grep -v '^scratch v' | sort -u | wc -l)
  native[$v]=$(cd "$dir" && cargo tree -q -e normal,build --prefix none \
    | awk '{print $1}' | { grep -xE 'ring|aws-lc-rs|aws-lc-sys|openssl-sys|cc' || true; } | sort -u | paste -sd, -)
  [ -n "${native[$v]}" ] || native[$v]=no
  seconds[$v]=0
  if [ $build = 1 ]; then
    started=$(date +%s.%N)
    (cd "$dir" && CARGO_TARGET_DIR="$dir/target" CARGO_INCREMENTAL=0 cargo build -q)
    seconds[$v]=$(echo "$(date +%s.%N) - $started" | bc)
    rm -rf "$dir/target"
  fi
done

printf '%-16s %7s %10s %9s %10s  %s\n' variant crates "over bare" seconds "over bare" "C/asm build"
for v in "${list[@]}"; do
  printf '%-16s %7d %+10d %9.1f %+10.1f  %s\n' "$v" "${crates[$v]}" "$((crates[$v] - crates[bare]))" \
    "${seconds[$v]}" "$(echo "${seconds[$v]} - ${seconds[bare]}" | bc)" "${native[$v]}"
done
echo "crates: distinct name+version in 'cargo tree -e normal', the scratch crate excluded; seconds: clean debug 'cargo build', $(nproc) cores, one run"
