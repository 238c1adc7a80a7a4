# Shared by the benchmark scripts (sourced, not run): logging, and installing
# Debian packages whose own services must not start, since the benchmarks
# start their servers themselves, on loopback, from generated configs.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

as_root=()
if [[ $(id -u) -ne 0 ]]; then as_root=(sudo); fi

# Set while our policy-rc.d is in place: a script's clean-up removes it if
# the install is interrupted.
policy_rc_created=0

# install_without_services PACKAGE...: apt-get installs them (nothing when
# none are given) with invoke-rc.d told not to start their services.
install_without_services() {
  (($#)) || return 0
  log "installing $*"
  if [[ ! -e /usr/sbin/policy-rc.d && $(id -u) -eq 0 ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    policy_rc_created=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq "$@" >/dev/null
  if ((policy_rc_created)); then rm -f /usr/sbin/policy-rc.d; policy_rc_created=0; fi
}
