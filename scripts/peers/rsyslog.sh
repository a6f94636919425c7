#!/usr/bin/env bash
# Installs rsyslog from Debian, the real syslog collector of the syslog
# output's integration tests (outputs/syslog), with its GnuTLS stream driver
# for the TLS input (RFC 5425).
#
# The tests start and stop rsyslogd themselves, in the foreground, with their
# own config, work directory and 127.0.0.1 ports chosen at random; nothing
# here starts a daemon. The Debian package's own service is not started
# either (no init system in CI), and the tests never load imuxsock, so the
# system's /dev/log and /var/log are left alone. Set AUDITFWD_RSYSLOGD to use
# an rsyslogd from elsewhere.
#
# Usage: scripts/peers/rsyslog.sh   (prints the binary's path)
set -euo pipefail

if ! command -v rsyslogd >/dev/null 2>&1 || ! ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1; then
  echo "== installing rsyslog and rsyslog-gnutls (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  # policy-rc.d 101: do not let the package start its own service.
  policy=/usr/sbin/policy-rc.d
  made_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  apt-get install -y --no-install-recommends rsyslog rsyslog-gnutls >&2
  if [ -n "$made_policy" ]; then rm -f "$policy"; fi
fi
command -v rsyslogd
