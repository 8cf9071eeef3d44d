# shellcheck shell=bash
# shellcheck disable=SC2154 # bin, work, fixtures, endpoint, stores, hub_pid, static_pid: from scripts/bench
# The fleet benchmark, sourced by `scripts/bench --fleet` once the mock Hub is up: $bin, $work,
# $endpoint, $stores and the helpers timed, reset, repo_bytes and curl_config come from there.
#
# One Garage node on 127.0.0.1 holds the bucket (replication 1: three nodes on one disk would
# write every byte three times and measure the disk, not hfdl). The big repo is synced by
# $stores cold stores in turn, first from the Hub alone, then with the blob store (store 1
# publishes, the others read); each store is deleted after its sync, so the disk holds one store
# and the bucket at a time.

garage=$(command -v garage || echo "${CARGO_HOME:-$HOME/.cargo}/bin/garage")
[[ -x $garage ]] || { echo "the fleet benchmark needs garage: cargo install --locked garage --version 2.5.0" >&2; exit 1; }

fleet=$work/fleet
rm -rf "$fleet"; mkdir -p "$fleet/garage"
read -r rpc_port s3_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
cat >"$fleet/garage/garage.toml" <<EOF
metadata_dir = "$fleet/garage/meta"
data_dir = "$fleet/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_secret = "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"

[s3_api]
api_bind_addr = "127.0.0.1:$s3_port"
s3_region = "garage"
EOF
g() { env -i PATH=/usr/bin:/bin "$garage" -c "$fleet/garage/garage.toml" "$@"; }
env -i PATH=/usr/bin:/bin RUST_LOG=garage=warn "$garage" -c "$fleet/garage/garage.toml" server \
  >"$fleet/garage/log" 2>&1 &
garage_pid=$!
trap 'kill $hub_pid $static_pid $garage_pid 2>/dev/null || true' EXIT
for _ in $(seq 200); do g node id --quiet >/dev/null 2>&1 && break; sleep 0.1; done
node=$(g node id --quiet)
g layout assign -z dc1 -c 100G "${node%@*}" >/dev/null
g layout apply --version 1 >/dev/null
g bucket create bench >/dev/null
key_id=GK$(python3 -c 'import secrets; print(secrets.token_hex(12))')
key_secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
g key import --yes -n bench "$key_id" "$key_secret" >/dev/null
g bucket allow --read --write --owner bench --key "$key_id" >/dev/null
s3=http://127.0.0.1:$s3_port
export AWS_ENDPOINT_URL=$s3 AWS_REGION=garage AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$key_secret
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:garage:s3" --user "$key_id:$key_secret" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" "$s3/bench/ready") || true
  [[ $code == 404 ]] && break; sleep 0.1
done

project=$fleet/project; mkdir -p "$project"
printf '[settings]\nblob-store = "s3://bench/fleet"\n\n[models.m]\nrepo = "bench/big"\n' >"$project/models.toml"
"$bin/hfdl" --manifest "$project/models.toml" lock -q
big_bytes=$(repo_bytes bench/big)
hub_bytes() { curl -s "$endpoint/__admin/counters" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytes_served"])'; }

results=$fleet/results.txt; : >"$results"
# fleet_sync MODE I [flags...]: one cold store's sync; appends "mode store wall cpu rss hub store".
fleet_sync() {
  local mode=$1 i=$2; shift 2
  rm -rf "$fleet/cache" "$fleet/state"; sync; reset
  timed "$fleet/time.txt" env HF_HUB_CACHE="$fleet/cache" HFDL_CACHE_DIR="$fleet/state" \
    "$bin/hfdl" --manifest "$project/models.toml" sync --frozen -q --metrics-file "$fleet/metrics.json" "$@" ||
    { cat "$work/cmd.err"; exit 1; }
  read -r wall cpu rss <"$fleet/time.txt"
  from_store=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print((m.get("blob_store") or {}).get("bytes", 0))' "$fleet/metrics.json")
  echo "$mode $i $wall $cpu $rss $(hub_bytes) $from_store" >>"$results"
}

echo "fleet: $stores stores, the big repo ($((big_bytes >> 20)) MiB) each ..."
for ((i = 1; i <= stores; i++)); do
  HFDL_BLOB_STORE='' fleet_sync hub-only "$i"
done
for ((i = 1; i <= stores; i++)); do
  if ((i == 1)); then fleet_sync blob-store "$i" --publish; else fleet_sync blob-store "$i"; fi
done
rm -rf "$fleet/cache" "$fleet/state"

# The servers' own limits in the same run: every object of the repo to /dev/null with one curl,
# from Garage (the published blobs, signed) and from the mock Hub.
python3 - "$project/models.lock" "$s3" "$key_id:$key_secret" >"$fleet/garage-null.cfg" <<'PY'
import sys, tomllib
lock, s3, user = tomllib.load(open(sys.argv[1], "rb")), sys.argv[2], sys.argv[3]
print('aws-sigv4 = "aws:amz:garage:s3"')
print(f'user = "{user}"')
print('header = "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"')
for model in lock["model"]:
    for f in model["files"]:
        kind = "sha256" if "sha256" in f else "git-sha1"
        print(f'url = "{s3}/bench/fleet/{kind}/{f[kind]}"')
        print('output = "/dev/null"')
PY
timed "$fleet/time.txt" curl -s --fail -K "$fleet/garage-null.cfg"
read -r garage_wall _ _ <"$fleet/time.txt"
# Garage's write limit: the same blobs PUT by curl under another prefix, one request each.
python3 - "$project/models.lock" "$s3" "$key_id:$key_secret" "$fixtures/objects" >"$fleet/garage-put.cfg" <<'PY'
import os, sys, tomllib
lock, s3, user, objects = tomllib.load(open(sys.argv[1], "rb")), *sys.argv[2:5]
print('aws-sigv4 = "aws:amz:garage:s3"')
print(f'user = "{user}"')
print('header = "x-amz-content-sha256: UNSIGNED-PAYLOAD"')
for model in lock["model"]:
    for f in model["files"]:
        if "sha256" in f and os.path.exists(f"{objects}/{f['sha256']}"):
            print(f'upload-file = "{objects}/{f["sha256"]}"')
            print(f'url = "{s3}/bench/limit/{f["sha256"]}"')
            print('output = "/dev/null"')
PY
timed "$fleet/time.txt" curl -s --fail -K "$fleet/garage-put.cfg"
read -r garage_put_wall _ _ <"$fleet/time.txt"
curl_config bench/big /dev/null >"$fleet/hub-null.cfg"
reset
timed "$fleet/time.txt" curl -s --fail -L -K "$fleet/hub-null.cfg"
read -r hub_wall _ _ <"$fleet/time.txt"

echo
printf '%-11s %5s %8s %8s %9s %12s %12s\n' mode store wall_s cpu_s peak_rss hub_bytes store_bytes
while read -r mode i wall cpu rss hub store; do
  printf '%-11s %5s %8s %8s %8sM %12s %12s\n' "$mode" "$i" "$wall" "$cpu" "$((rss / 1024))" "$hub" "$store"
done <"$results"
echo
python3 - "$results" "$big_bytes" "$stores" "$garage_wall" "$hub_wall" "$garage_put_wall" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
repo, stores = int(sys.argv[2]), int(sys.argv[3])
garage_wall, hub_wall, garage_put = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
def of(mode): return [r for r in rows if r[0] == mode]
hub_only, fleet = of("hub-only"), of("blob-store")
def total(rs, i): return sum(int(r[i]) for r in rs)
def mean(rs, i): return sum(float(r[i]) for r in rs) / len(rs) if rs else float("nan")
print(f"Hub bytes, {stores} stores: hub-only {total(hub_only, 5) / repo:.2f}x the repo (goal {stores}x), "
      f"with the blob store {total(fleet, 5) / repo:.2f}x (goal 1x)")
readers = fleet[1:]
print(f"wall per store: plain Hub sync {mean(hub_only, 2):.3f} s; publishing store {float(fleet[0][2]):.3f} s "
      f"({float(fleet[0][2]) / mean(hub_only, 2):.2f}x); from the blob store {mean(readers, 2):.3f} s "
      f"({mean(readers, 2) / mean(hub_only, 2):.2f}x)")
print(f"CPU per store: plain Hub sync {mean(hub_only, 3):.3f} s; from the blob store {mean(readers, 3):.3f} s")
print(f"server limits (curl, same run): Garage GET {repo / garage_wall / 1e9:.2f} GB/s ({garage_wall:.3f} s), "
      f"Garage PUT {repo / garage_put / 1e9:.2f} GB/s ({garage_put:.3f} s), mock Hub GET {repo / hub_wall / 1e9:.2f} GB/s")
PY
