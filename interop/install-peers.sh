#!/usr/bin/env bash
# Installs the real DTLS peers the interop suite runs (see interop/PEERS.md):
# Debian's openssl, gnutls-bin, libcoap3-bin, tshark (+ libmbedtls-dev), redis-server (the
# session store's tests start their own on a private port; the system service is not
# started), and the npm packages node-dtls-client@1.1.1 / node-coap-client@2.1.0 into
# interop/peers/.
# For a fresh Debian bookworm machine running as root (CI); idempotent.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

have_all() {
  local b
  for b in openssl gnutls-serv gnutls-cli certtool coap-client-gnutls coap-server-gnutls tshark redis-server timeout; do
    command -v "$b" >/dev/null 2>&1 || return 1
  done
  # libmbedtls-dev ships headers only
  [ -f /usr/include/mbedtls/ssl.h ] || return 1
}

if have_all; then
  echo "install-peers: Debian peers already present, skipping apt-get"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-peers: need root for apt-get (or install: openssl gnutls-bin libcoap3-bin tshark libmbedtls-dev redis-server)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # tshark's postinst asks whether non-root users may capture: answer no, non-interactively.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
  apt-get update -qq
  # The tests start their own redis-server on a private port: when this script installs it,
  # the package's system service (port 6379) is neither started (policy-rc.d says no while
  # apt-get runs) nor enabled. A redis-server installed before is left as it was.
  new_redis=0
  command -v redis-server >/dev/null 2>&1 || new_redis=1
  policy_rc_d=/usr/sbin/policy-rc.d
  added_policy=0
  if [ ! -e "$policy_rc_d" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy_rc_d" && chmod +x "$policy_rc_d" && added_policy=1
  fi
  trap 'if [ "$added_policy" = 1 ]; then rm -f "$policy_rc_d"; fi' EXIT
  apt-get install -y -qq --no-install-recommends openssl gnutls-bin libcoap3-bin tshark libmbedtls-dev redis-server
  if [ "$new_redis" = 1 ]; then systemctl disable --quiet redis-server.service >/dev/null 2>&1 || true; fi
  have_all || { echo "install-peers: a peer binary is still missing after apt-get" >&2; exit 1; }
fi

# npm peers. node-dtls-client 2.x needs Node 22: stay on 1.1.1 (pinned in peers/package.json).
if [ -f "$here/peers/node_modules/node-dtls-client/package.json" ] \
  && [ -f "$here/peers/node_modules/node-coap-client/package.json" ] \
  && grep -q '"version": "1.1.1"' "$here/peers/node_modules/node-dtls-client/package.json" \
  && grep -q '"version": "2.1.0"' "$here/peers/node_modules/node-coap-client/package.json"; then
  echo "install-peers: npm peers already present"
else
  npm install --omit=optional --no-audit --no-fund --prefix "$here/peers"
fi

echo "install-peers: ok ($(openssl version | cut -d' ' -f1-2), $(gnutls-cli --version | head -1), $(tshark --version | head -1), $(redis-server --version | cut -d' ' -f1-3))"
