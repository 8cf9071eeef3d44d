#!/usr/bin/env bash
# The Xet benchmark (issue #20), run by `./scripts/bench --xet` (or directly):
#
#   ./scripts/bench --xet [--size 2GiB] [--files 2] [--changed 10] [--runs 3]
#
# Generates once, under target/bench, a Xet-backed model (`hfdl-mock-hub generate xet-upgrade`:
# --files weight files of --size in all, tags v1 and v2 = main, v2 overwriting --changed % of
# each file in evenly spaced regions; the generator reports the chunks and xorb bytes v2 adds to
# the mock's CAS), starts the mock Hub on 127.0.0.1 and measures, per run (median of --runs):
#   - cold, v1 into an empty store: `hfdl sync` over Xet, `hfdl sync` over the bridge
#     (HFDL_XET=off), `hf download` (huggingface_hub + hf_xet), and curl of the same files
#     through the resolve URLs (one stream, and -Z);
#   - the upgrade to v2, each tool on the store it filled with v1: hfdl over Xet, hfdl over the
#     bridge, `hf download` (hf_xet reuses nothing it downloaded before);
#   - the mock's own limits: every xorb range of v1 (the signed URLs of its reconstructions)
#     and every file through the resolve URLs (the bridge), curl to /dev/null.
# Prints wall s, CPU s (user+sys), peak RSS, the bytes the mock sent (bridge + resolve bodies
# and xorb ranges: its counters), requests and, for hfdl, the reused bytes of its metrics file
# when it reports them; then the goals: upgrade bytes over Xet <= 1.2x the new chunks' bytes,
# cold Xet wall <= bridge wall. Needs curl, python3, GNU time; the venv target/pyenv
# (huggingface_hub 2.4.0 + hf_xet 1.8.0) is created when missing, as scripts/test does.
set -euo pipefail
cd "$(dirname "$0")/.."

size=2GiB files=2 changed=10 runs=3
while (($#)); do
  case $1 in
    --xet) shift ;;
    --size) size=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --changed) changed=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1 (the Xet benchmark takes --size, --files, --changed, --runs)" >&2; exit 2 ;;
  esac
done
[[ -x /usr/bin/time ]] || { echo "the Xet benchmark needs GNU time (/usr/bin/time)" >&2; exit 1; }
# Every measured command is bounded: a stuck download fails the benchmark instead of hanging it.
limit=${BENCH_TIMEOUT:-1800}

cargo build --release --locked --workspace --quiet
bin=$PWD/target/release
bench=$PWD/target/bench
work=$bench/xet
fixtures=$bench/fixtures-xet-$files-$size-$changed
mkdir -p "$work"
bytes=$(python3 - "$size" <<'PY'
import re, sys
m = re.fullmatch(r"([0-9.]+)\s*([KMG]i?B?|B)?", sys.argv[1].strip(), re.I)
units = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "kib": 1 << 10, "m": 1e6, "mb": 1e6, "mib": 1 << 20,
         "g": 1e9, "gb": 1e9, "gib": 1 << 30}
print(int(float(m[1]) * units[(m[2] or "").lower()]) if m and (m[2] or "").lower() in units else 0)
PY
)
((bytes > 0)) || { echo "invalid --size $size" >&2; exit 2; }

# The disk is shared: check there is room first. Fixtures: the objects of both revisions and the
# xorbs (~3.2x the size); then at most one store at a time with both revisions (~2.1x).
avail=$(df --output=avail -B1 "$bench" | tail -1)
need=$((bytes * 22 / 10 + (1 << 30)))
[[ -f $fixtures/.complete ]] || need=$((need + bytes * 33 / 10))
if ((avail < need)); then
  echo "not enough free space under $bench: $((avail >> 20)) MiB, the Xet benchmark needs about $((need >> 20)) MiB" >&2
  exit 1
fi

if [[ ! -f $fixtures/.complete ]]; then
  # One Xet fixture set at a time (each is ~3x --size).
  for old in "$bench"/fixtures-xet-*; do
    [[ -e $old && $old != "$fixtures" ]] && { echo "removing the old Xet fixtures $old"; rm -rf "$old"; }
  done
  rm -rf "$fixtures"
  echo "generating the Xet fixtures in $fixtures ..."
  "$bin/hfdl-mock-hub" generate --out "$fixtures" xet-upgrade --id bench/xet --files "$files" \
    --size "$size" --changed "$changed" >"$work/xet-upgrade.json"
  mv "$work/xet-upgrade.json" "$fixtures/xet-upgrade.json"
  touch "$fixtures/.complete"
fi
reference=$fixtures/xet-upgrade.json

venv=$PWD/target/pyenv
if ! "$venv/bin/python" -c 'import huggingface_hub, hf_xet' 2>/dev/null; then
  echo "creating $venv (huggingface_hub 2.4.0, hf_xet 1.8.0) ..."
  [[ -x "$venv/bin/python" ]] ||
    python3 -m venv "$venv" 2>/dev/null || { rm -rf "$venv"; python3 -m venv --without-pip "$venv"; }
  "$venv/bin/python" -m pip install -q --disable-pip-version-check 'huggingface_hub==2.4.0' 'hf_xet==1.8.0'
fi

# The stores (up to 2x --size each) go when the script ends, however it ends.
stores=("$work/cache" "$work/state" "$work/hf" "$work/hf-home" "$work/out")
hub_pid=''
cleanup() {
  if [[ -n $hub_pid ]]; then kill "$hub_pid" 2>/dev/null || true; fi
  rm -rf "${stores[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -f "$work/hub.out"  # not the previous run's endpoint
"$bin/hfdl-mock-hub" serve --fixtures "$fixtures" >"$work/hub.out" 2>"$work/hub.log" &
hub_pid=$!
for _ in $(seq 200); do grep -q '^endpoint=' "$work/hub.out" 2>/dev/null && break; sleep 0.05; done
endpoint=$(sed -n 's/^endpoint=//p' "$work/hub.out")
[[ -n $endpoint ]] || { cat "$work/hub.log" >&2; exit 1; }
# Every tool reads this Hub, and keeps its token, config and caches under $work.
export HF_ENDPOINT=$endpoint HF_HOME=$work/hf-home HF_HUB_DISABLE_TELEMETRY=1 HF_HUB_DISABLE_PROGRESS_BARS=1
unset HF_TOKEN HF_HUB_CACHE HF_XET_CACHE HF_HUB_DISABLE_XET HFDL_XET HF_HUB_OFFLINE

reset() { curl -s --max-time 10 -X POST "$endpoint/__admin/reset" >/dev/null; }
counters() { curl -s --max-time 10 "$endpoint/__admin/counters"; }

# The mock serves from the page cache in every row: read the fixtures once first.
find "$fixtures/objects" "$fixtures/xet" -type f -exec cat {} + >/dev/null

# curl configs (built outside the timing, as hfdl's lock is): the files of a revision through
# the resolve URLs, to a directory or /dev/null; and every xorb range of the revision's Xet files
# (the signed URLs of their v2 reconstructions, one request per range as hf_xet sends them).
curl_files() { # revision out
  curl -s --fail --max-time 30 "$endpoint/api/models/bench/xet/tree/$1?recursive=true" | python3 -c '
import json, sys
endpoint, revision, out = sys.argv[1:4]
for e in json.load(sys.stdin):
    if e["type"] == "file":
        path = e["path"]
        print(f"url = \"{endpoint}/bench/xet/resolve/{revision}/{path}\"")
        print("output = \"%s\"" % (out if out == "/dev/null" else f"{out}/{path}"))
' "$endpoint" "$1" "$2"
}
curl_xorbs() { # revision
  python3 - "$endpoint" "$1" <<'PY'
import json, sys, urllib.request
endpoint, revision = sys.argv[1:3]
def get(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)
token = get(f"{endpoint}/api/models/bench/xet/xet-read-token/{revision}")
tree = get(f"{endpoint}/api/models/bench/xet/tree/{revision}?recursive=true")
entries = []
for entry in tree:
    if not entry.get("xetHash"):
        continue
    plan = get(f"{token['casUrl']}/v2/reconstructions/{entry['xetHash']}", token["accessToken"])
    for fetches in plan["xorbs"].values():
        for fetch in fetches:
            for r in fetch["ranges"]:
                entries.append(f"url = \"{fetch['url']}\"\n"
                               f"range = \"{r['bytes']['start']}-{r['bytes']['end']}\"\n"
                               "output = \"/dev/null\"\n")
print("next\n".join(entries), end="")
PY
}

# The project: models.toml at v1 or v2 and its lock, resolved once outside the timing (a real
# project commits its lock; the upgrade is `hfdl lock` after editing the revision).
project=$work/project; mkdir -p "$project"
hfdl_env=(env HF_HUB_CACHE="$work/cache" HFDL_CACHE_DIR="$work/state")
for rev in v1 v2; do
  printf '[models.m]\nrepo = "bench/xet"\nrevision = "%s"\n' "$rev" >"$project/models-$rev.toml"
  cp "$project/models-$rev.toml" "$project/models.toml"; rm -f "$project/models.lock"
  "${hfdl_env[@]}" "$bin/hfdl" --manifest "$project/models.toml" lock -q
  cp "$project/models.lock" "$project/models-$rev.lock"
done
use_rev() { cp "$project/models-$1.toml" "$project/models.toml"; cp "$project/models-$1.lock" "$project/models.lock"; }
rm -rf "$work/cache" "$work/state"
hfdl_sync=("${hfdl_env[@]}" "$bin/hfdl" --manifest "$project/models.toml" sync --frozen -q --metrics-file "$work/metrics.json")
hf_download=(env HF_XET_CACHE="$work/hf-home/xet" "$venv/bin/hf" download bench/xet --cache-dir "$work/hf")

# measure LABEL CMD...: runs CMD under GNU time (CPU, peak RSS; bounded by $limit s) with the
# mock's counters reset, and appends "label wall cpu rss sent xorb requests reused" to $samples: sent = the
# bytes the mock sent (bodies of resolve, CDN and bridge + xorb ranges), xorb = the xorb bytes
# alone, reused = what hfdl's metrics file reports as reused bytes ("-" when it has no such key).
samples=$work/samples.txt; : >"$samples"
measure() {
  local label=$1; shift
  local start end
  sync; reset; rm -f "$work/metrics.json"
  start=$(date +%s%N)
  /usr/bin/time -f '%U %S %M' -o "$work/time.txt" timeout "$limit" "$@" >/dev/null 2>"$work/cmd.err" ||
    { echo "$label failed:" >&2; cat "$work/cmd.err" "$work/time.txt" >&2; exit 1; }
  end=$(date +%s%N)
  counters >"$work/counters.json"
  python3 - "$label" "$(((end - start) / 1000000))" "$work/time.txt" "$work/counters.json" "$work/metrics.json" \
    >>"$samples" <<'PY'
import json, os, sys
label, wall_ms, time_file, counters_file, metrics_file = sys.argv[1:6]
wall = f"{int(wall_ms) / 1000:.3f}"
user, system, rss = open(time_file).read().split()[-3:]
c = json.load(open(counters_file))
xorb = c.get("xet_bytes", 0)
requests = sum(c.get(k, 0) for k in ("api", "resolve_head", "resolve_get", "cdn", "other", "xet_token",
                                     "xet_reconstruction", "xet_xorb", "xet_bridge", "xet_other"))
reused = "-"
if os.path.exists(metrics_file):
    # Reused bytes, wherever hfdl puts them: a numeric key naming "reus" (not files.reused,
    # a file count), preferring one under "bytes".
    found = []
    def walk(value, path):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + [k])
        elif isinstance(value, (int, float)) and not isinstance(value, bool) \
                and "reus" in path[-1] and path != ["files", "reused"]:
            found.append((path[0] != "bytes", ".".join(path), value))
    walk(json.load(open(metrics_file)), [])
    if found:
        reused = str(int(sorted(found)[0][2]))
print(label, wall, f"{float(user) + float(system):.2f}", rss, c["bytes_served"] + xorb, xorb, requests, reused)
PY
}

v1_files=$work/curl-v1.cfg
curl_files v1 "$work/out" >"$v1_files"
curl_files v1 /dev/null >"$work/curl-v1-null.cfg"
for ((run = 1; run <= runs; run++)); do
  echo "run $run of $runs ..."
  # The mock's limits: the same bytes to /dev/null, xorb ranges and bridge.
  curl_xorbs v1 >"$work/xorbs-v1.cfg"
  measure mock-xorbs-null curl -s --fail -K "$work/xorbs-v1.cfg"
  measure mock-bridge-null curl -s --fail -L -K "$work/curl-v1-null.cfg"
  # curl, the baseline: the files of v1 through the resolve URLs (the bridge), cold.
  rm -rf "$work/out"
  measure curl-cold curl -s --fail -L --create-dirs -K "$v1_files"
  rm -rf "$work/out"
  measure curl-Z-cold curl -s --fail -L --create-dirs -Z --parallel-max 8 -K "$v1_files"
  rm -rf "$work/out"
  # hfdl over Xet, then over the bridge: v1 into an empty store, then the upgrade to v2.
  for mode in xet bridge; do
    [[ $mode == xet ]] && xet=auto || xet=off
    rm -rf "$work/cache" "$work/state"
    use_rev v1
    measure "hfdl-$mode-cold" env HFDL_XET="$xet" "${hfdl_sync[@]}"
    use_rev v2
    measure "hfdl-$mode-upgrade" env HFDL_XET="$xet" "${hfdl_sync[@]}"
  done
  rm -rf "$work/cache" "$work/state"
  # hf download with hf_xet: v1 into an empty cache, then v2 on top of it.
  rm -rf "$work/hf" "$work/hf-home"
  measure hf-xet-cold "${hf_download[@]}" --revision v1
  measure hf-xet-upgrade "${hf_download[@]}" --revision v2
  rm -rf "$work/hf" "$work/hf-home"
done

echo
python3 - "$samples" "$reference" "$runs" <<'PY'
import json, sys
lines = [l.split() for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))
runs = int(sys.argv[3])
order = []
by_label = {}
for l in lines:
    if l[0] not in by_label:
        order.append(l[0])
    by_label.setdefault(l[0], []).append(l[1:])
# Per case, the run with the median wall time.
rows = {k: sorted(v, key=lambda s: float(s[0]))[(len(v) - 1) // 2] for k, v in by_label.items()}
MiB = 1 << 20
def mib(x):
    return "-" if x == "-" else f"{int(x) / MiB:.1f}"
weights = ref["weight_bytes"]
print(f"model: {len(ref['files'])} Xet-backed weight files, {weights / MiB:.0f} MiB; v2 overwrote "
      f"{ref['overwritten_bytes'] / MiB:.1f} MiB: {ref['new_chunks']} of {ref['chunks']} chunks new "
      f"({100 * ref['new_chunks'] / ref['chunks']:.1f} %), {ref['new_chunk_bytes'] / MiB:.1f} MiB, "
      f"{ref['new_xorb_bytes'] / MiB:.1f} MiB of new xorbs")
print(f"median of {runs} run(s); sent = what the mock sent (bridge/resolve bodies + xorb ranges), MiB")
print()
print(f"{'case':20} {'wall_s':>8} {'cpu_s':>8} {'peak_rss':>9} {'sent_MiB':>10} {'xorb_MiB':>10} {'requests':>9} {'reused_MiB':>11}")
for label in order:
    wall, cpu, rss, sent, xorb, requests, reused = rows[label]
    print(f"{label:20} {float(wall):8.3f} {float(cpu):8.2f} {int(rss) // 1024:>6}MiB {mib(sent):>10} {mib(xorb):>10} {requests:>9} {mib(reused):>11}")
print()

def value(label, i):
    try:
        return float(rows[label][i])
    except (KeyError, ValueError):
        return None
W, C, R, SENT = 0, 1, 2, 3
changed = ref["new_xorb_bytes"]
print(f"upgrade v1 -> v2, bytes sent / the new chunks' bytes ({changed / MiB:.1f} MiB of new xorbs; "
      f"reusing nothing: {ref['v2_xorb_bytes'] / changed:.2f}x over Xet):")
for label in ("hfdl-xet-upgrade", "hfdl-bridge-upgrade", "hf-xet-upgrade"):
    sent = value(label, SENT)
    print(f"  {label:20} {'-' if sent is None else f'{sent / changed:.2f}x'}")
print()
for what, label, over in (("CAS (xorb ranges)", "hfdl-xet-cold", "mock-xorbs-null"),
                          ("bridge (resolve URLs)", "hfdl-bridge-cold", "mock-bridge-null")):
    a, b = value(over, W), value(label, W)
    if a and b:
        print(f"mock's limit, {what}: {weights / a / 1e9:.2f} GB/s alone ({a:.2f} s), "
              f"{a / b * 100:.0f} % of {label}'s wall")
print()
def ratio(a, b, i):
    x, y = value(a, i), value(b, i)
    return None if x is None or not y else x / y
goals = [
    ("upgrade: hfdl-xet bytes / new chunks' bytes", (value("hfdl-xet-upgrade", SENT) or 0) / changed, 1.2, "<= 1.2"),
    ("cold: hfdl-xet wall / hfdl-bridge wall", ratio("hfdl-xet-cold", "hfdl-bridge-cold", W), 1.05, "<= 1.0 (+5 % noise)"),
    ("cold: hfdl-xet CPU / hfdl-bridge CPU", ratio("hfdl-xet-cold", "hfdl-bridge-cold", C), None, ""),
    ("cold: hfdl-xet peak RSS / hfdl-bridge", ratio("hfdl-xet-cold", "hfdl-bridge-cold", R), None, ""),
    ("cold: hfdl-xet wall / curl wall", ratio("hfdl-xet-cold", "curl-cold", W), None, ""),
    ("cold: hfdl-xet wall / hf download wall", ratio("hfdl-xet-cold", "hf-xet-cold", W), None, ""),
    ("upgrade: hfdl-xet wall / hf download wall", ratio("hfdl-xet-upgrade", "hf-xet-upgrade", W), None, ""),
]
print(f"{'goal':44} {'value':>7}  {'limit':20} holds")
for what, result, limit, stated in goals:
    shown = "-" if result is None else f"{result:.2f}"
    holds = "" if limit is None else ("-" if result is None else ("yes" if result <= limit else "NO"))
    print(f"{what:44} {shown:>7}  {stated:20} {holds}")
PY
