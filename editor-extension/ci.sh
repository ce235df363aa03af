#!/usr/bin/env bash
# Installs what the editor extension's tests need on a fresh Debian machine,
# then runs the type check, the unit tests and the browser tests.
#
#   NIB_E2E_SERVER=fake (default) the browser tests drive the fake daemon
#   NIB_E2E_SERVER=real           they drive nib itself, built with go build
#                                 (or $NIB_BINARY), on ../shared/fixtures/t5-tiny-gated
#
# Then nib in the browser: the engine built for js (GOOS=js GOARCH=wasm)
# passes go vet and its syscall/js tests under Node, runs both fixtures'
# reference cases on Chromium's WebGPU (SwiftShader), and the browser tests
# run again with the engine in the page and no daemon at all.
set -euo pipefail
cd "$(dirname "$0")"

server="${NIB_E2E_SERVER:-fake}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# grep without -q reads all of fc-list's output, so pipefail sees no SIGPIPE.
has_font() { command -v fc-list >/dev/null 2>&1 && fc-list | grep -i "$1" >/dev/null; }

packages=()
# Debian's Chromium: playwright-core drives it; its own browser download
# cannot work on these machines.
[ -x /usr/bin/chromium ] || packages+=(chromium)
# Fonts only make the screenshots legible (CJK and emoji in the demo text).
has_font "wenquanyi\|noto sans cjk" || packages+=(fonts-wqy-microhei)
has_font "color emoji" || packages+=(fonts-noto-color-emoji)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
if [ "$server" = real ]; then
  # The daemon computes through Vulkan; lavapipe is the software driver.
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || packages+=(mesa-vulkan-drivers libvulkan1)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  echo "ci.sh: installing ${packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

# Vite 8 needs Node 20.19 or later; Debian 12's own nodejs is older.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  echo "ci.sh: Node $(node --version) is too old; install Node 20.19+ (e.g. from nodejs.org or NodeSource)" >&2
  exit 1
fi

npm ci --no-audit --no-fund
npm run typecheck
npm test
NIB_E2E_SERVER="$server" npm run test:e2e

(cd .. && GOOS=js GOARCH=wasm go vet ./... &&
  GOOS=js GOARCH=wasm go test -count=1 -exec="$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./gpu/internal/native)
for fixture in t5-tiny-gated t5-tiny-relu-tied; do
  node scripts/browser-forward.mjs --model "../../shared/fixtures/$fixture" --reference "../../shared/fixtures/$fixture/reference.safetensors"
done
NIB_E2E_ENGINE=browser npm run test:e2e
