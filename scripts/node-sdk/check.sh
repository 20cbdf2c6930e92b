#!/usr/bin/env bash
# Holds the Target simulator against Adobe's Node SDK (@adobe/target-nodejs-sdk 2.4.3):
# sendNotifications() with tntId + marketingCloudVisitorId, A4T and two notifications must be
# accepted and acknowledged per id. Not part of `make test` (it needs npm); run it by hand
# after changing the simulator's validation.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work="$root/.cache/node-sdk"
mkdir -p "$work"
cp "$root/scripts/node-sdk/send.js" "$work/"
if [[ ! -d "$work/node_modules/@adobe/target-nodejs-sdk" ]]; then
  (cd "$work" && npm init -y >/dev/null && npm install --silent @adobe/target-nodejs-sdk@2.4.3)
fi
go build -o "$work/targetsim" "$root/cmd/targetsim"
port=18093
"$work/targetsim" -listen "127.0.0.1:$port" -record >"$work/targetsim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/_sim/stats" >/dev/null 2>&1 && break
  sleep 0.1
done
(cd "$work" && node send.js "127.0.0.1:$port")
curl -fsS "http://127.0.0.1:$port/_sim/stats"; echo
