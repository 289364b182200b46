#!/usr/bin/env bash
# container-check: what the Dockerfile's runtime stage and compose.yaml
# promise, checked without a Docker engine (none runs where dirscope is
# built). As root:
#  1. `make package` builds the .deb packages (the Dockerfile's build stage);
#  2. a Debian bookworm minbase from debootstrap (cached in
#     BUILD_DIR/container/) stands in for debian:bookworm-slim;
#  3. the runtime stage's COPY/RUN/USER/WORKDIR lines run verbatim in a
#     chroot on an overlay of that base (the image layer); the postinst's
#     user `dirscope`, the state dir and the binaries' libraries are checked;
#  4. each compose service runs its command from compose.yaml (read by
#     scripts/container_spec.py, nothing retyped) in a container of its own:
#     an overlay of the image, its own mount, UTS (hostname), PID and network
#     namespace on a bridge, /etc/hosts naming the services, the named volume
#     and the bind mounts as compose.yaml says, as the image's USER, in
#     dependency order, waiting for the healthcheck as compose would;
#  5. the `docker compose exec` example in compose.yaml's comment must list
#     the node's directory, `nodes` must show every node, each node's `ls`
#     its own directory, published ports must answer from another container;
#     then every container gets SIGTERM and must stop within docker's 10 s.
# Every wait is bounded; the trap removes processes, namespaces and the
# run's directories on any exit. Logs of the last run: BUILD_DIR/container/last-run/.
set -euo pipefail

SELF=$(readlink -f "$0")
REPO=$(cd "$(dirname "$SELF")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$REPO/$BUILD_DIR ;; esac
CACHE=$BUILD_DIR/container
BASE=$CACHE/bookworm-minbase
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WAIT_SECONDS=${WAIT_SECONDS:-60} # a node joining, a listing appearing
STOP_SECONDS=10                  # docker stop's grace period before SIGKILL
NET=172.31.250                   # the compose network, inside namespaces only
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export SELF REPO CACHE BASE

say() { printf '[container-check %3ds] %s\n' "$SECONDS" "$*"; }
die() { say "FAIL: $*"; exit 1; }

# ---- inside the namespaces (the script calls itself) ----------------------

# /proc, a minimal /dev and the host's resolver, as docker gives a container.
mount_basics() {
  local root=$1 d
  mount -t proc proc "$root/proc"
  mount -t tmpfs -o nosuid,mode=0755 tmpfs "$root/dev"
  for d in null zero full random urandom tty; do
    touch "$root/dev/$d"
    mount --bind "/dev/$d" "$root/dev/$d"
  done
  mkdir -p "$root/dev/shm"
  mount -t tmpfs -o nosuid,nodev tmpfs "$root/dev/shm"
}

# As USER from WORKDIR with a clean environment, like docker run/exec.
as_image_user() {
  local user=$1 home=$2 workdir=$3
  shift 3
  if [ "$user" = root ]; then
    exec env -i -C "$workdir" PATH="$PATH_IN" HOME="$home" "$@"
  fi
  exec setpriv --reuid="$user" --regid="$user" --init-groups \
    env -i -C "$workdir" PATH="$PATH_IN" HOME="$home" "$@"
}

# The runtime stage of the Dockerfile, in an overlay over the base.
image_main() {
  source "$RUN/spec.sh"
  local root=$RUN/image/root user=root workdir=/ step word arg
  mount -t overlay overlay -o "lowerdir=$BASE,upperdir=$RUN/image/upper,workdir=$RUN/image/work" "$root"
  mount_basics "$root"
  mount --bind "$CACHE/apt-archives" "$root/var/cache/apt/archives"
  touch "$root/etc/resolv.conf"
  mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
  for step in "${IMAGE_STEPS[@]}"; do
    word=${step%%$'\t'*}
    arg=${step#*$'\t'}
    case $word in
      COPYDEBS)
        mkdir -p "$root$arg"
        cp "$RUN"/debs/*.deb "$root$arg"
        ;;
      RUN)
        echo "RUN $arg"
        chroot "$root" /bin/sh -c \
          "$(declare -f as_image_user); PATH_IN=$PATH_IN; as_image_user $user /root $workdir /bin/sh -c \"\$1\"" \
          sh "$arg"
        ;;
      USER) user=$arg ;;
      WORKDIR) mkdir -p "$root$arg"; workdir=$arg ;;
    esac
  done
  # What the runtime needs of the image: the user (postinst), its state
  # dir, and every shared library the binaries link (apt's shlibdeps).
  local entry home
  entry=$(chroot "$root" getent passwd "$user") \
    || { echo "image: no user $user (postinst did not create it)"; exit 1; }
  echo "user: $entry"
  home=$(echo "$entry" | cut -d: -f6)
  local uid=${entry#*:*:}
  uid=${uid%%:*}
  [ "$user" = root ] || [ "$uid" -lt 1000 ] \
    || { echo "image: $user is not a system user (uid $uid)"; exit 1; }
  echo "workdir: $(chroot "$root" stat -c '%U:%G %a %n' "$workdir")"
  [ "$(chroot "$root" stat -c %U "$workdir")" = "$user" ] \
    || { echo "image: $workdir is not owned by $user"; exit 1; }
  local bin missing=0
  for bin in dirscope-server dirscope-client dirscope; do
    if chroot "$root" ldd "/usr/bin/$bin" | grep 'not found'; then
      echo "image: /usr/bin/$bin misses libraries"
      missing=1
    fi
  done
  [ "$missing" = 0 ] || exit 1
  # `docker run IMAGE`: the image's own CMD, as its user.
  if [ ${#IMAGE_CMD[@]} -gt 0 ]; then
    echo "cmd: ${IMAGE_CMD[*]}"
    timeout 30 chroot "$root" /bin/sh -c \
      "$(declare -f as_image_user); PATH_IN=$PATH_IN; as_image_user \"\$@\"" \
      sh "$user" "$home" "$workdir" "${IMAGE_CMD[@]}" >/dev/null \
      || { echo "image: its CMD ${IMAGE_CMD[*]} failed"; exit 1; }
  fi
  printf 'IMG_USER=%q\nIMG_UID=%q\nIMG_HOME=%q\nIMG_WORKDIR=%q\n' \
    "$user" "$uid" "$home" "$workdir" >"$RUN/image.env"
}

# One compose service: PID 1 of its namespaces is the service's command.
container_main() {
  local i=$1
  source "$RUN/spec.sh"
  source "$RUN/image.env"
  local dir=$RUN/c$i root=$RUN/c$i/root m kind src dst mode
  local -n cmd=SVC_${i}_CMD mounts=SVC_${i}_MOUNTS hn=SVC_${i}_HOSTNAME
  hostname "$hn"
  mount -t overlay overlay -o "lowerdir=$RUN/image/upper:$BASE,upperdir=$dir/upper,workdir=$dir/work" "$root"
  mount_basics "$root"
  touch "$root/etc/resolv.conf"
  mount --bind /etc/resolv.conf "$root/etc/resolv.conf"
  cp "$RUN/hosts" "$root/etc/hosts"
  for m in "${mounts[@]}"; do
    IFS=$'\t' read -r kind src dst mode <<<"$m"
    if [ "$kind" = volume ]; then
      # A new named volume starts as a copy of the image's directory.
      if [ ! -e "$RUN/volumes/$src" ]; then
        if [ -d "$root$dst" ]; then
          cp -a "$root$dst" "$RUN/volumes/$src"
        else
          mkdir "$RUN/volumes/$src"
        fi
      fi
      src=$RUN/volumes/$src
    fi
    mkdir -p "$root$dst"
    mount --bind "$src" "$root$dst"
    [ "$mode" = rw ] || mount -o remount,bind,ro "$root$dst"
  done
  local pid _
  read -r pid _ </proc/self/stat # the host's pid of this PID 1
  echo "$pid" >"$dir/pid.tmp"
  mv "$dir/pid.tmp" "$dir/pid"
  exec chroot "$root" /bin/sh -c \
    "$(declare -f as_image_user); PATH_IN=$PATH_IN; as_image_user \"\$@\"" \
    sh "$IMG_USER" "$IMG_HOME" "$IMG_WORKDIR" "${cmd[@]}"
}

case ${1:-} in
  __image) image_main; exit ;;
  __container) container_main "$2"; exit ;;
esac

# ---- outside ---------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, namespaces)"
for c in debootstrap ip unshare nsenter curl; do
  command -v "$c" >/dev/null || die "$c is missing (make container-check installs it)"
done
/usr/bin/python3 -c 'import yaml' 2>/dev/null || die "python3-yaml is missing (make container-check installs it)"
mkdir -p "$CACHE/apt-archives/partial"
exec 9>"$CACHE/lock"
flock -n 9 || die "another container-check runs on $CACHE"

RUN=$CACHE/run.$$
NS=dscc$$
export RUN
STARTED=()  # service indexes with a launcher
declare -A LAUNCHER=()

pid_of() { cat "$RUN/c$1/pid" 2>/dev/null || true; }

cleanup() {
  local rc=$? i p n
  set +e
  for i in "${STARTED[@]}"; do
    p=$(pid_of "$i")
    [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
  done
  for i in "${STARTED[@]}"; do
    for n in $(seq 50); do kill -0 "${LAUNCHER[$i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${LAUNCHER[$i]}" 2>/dev/null
    wait "${LAUNCHER[$i]}" 2>/dev/null
  done
  for n in $(ip netns list | awk '{print $1}' | grep "^$NS-"); do
    ip netns del "$n"
  done
  if [ -d "$RUN" ]; then
    rm -rf "$CACHE/last-run"
    mkdir -p "$CACHE/last-run"
    cp "$RUN"/*.log "$CACHE/last-run/" 2>/dev/null
    for i in "${STARTED[@]}"; do cp "$RUN/c$i/out.log" "$CACHE/last-run/${SERVICES[$i]}.out" 2>/dev/null; done
    cp "$RUN"/volumes/*/*.log "$CACHE/last-run/" 2>/dev/null
    # Every mount lived in a namespace that is gone; never delete through one.
    if findmnt -rn -o TARGET | grep -q "^$RUN"; then
      say "mounts left under $RUN; not removing it"
      rc=1
    else
      rm -rf --one-file-system "$RUN"
    fi
  fi
  if [ "$rc" != 0 ]; then
    say "failed; logs in $CACHE/last-run/"
    for f in "$CACHE"/last-run/*; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
    done
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The packages, by the Makefile's own target.
say "make package"
touch "$CACHE/package.stamp"
make -C "$REPO" package BUILD_DIR="$BUILD_DIR" >"$CACHE/package.log" 2>&1 \
  || { tail -n 30 "$CACHE/package.log"; die "make package failed"; }
mkdir -p "$RUN/debs"
find "$BUILD_DIR" -maxdepth 1 -name 'dirscope-*.deb' -newer "$CACHE/package.stamp" \
  -exec cp {} "$RUN/debs/" \;
for p in dirscope-server dirscope-client; do
  compgen -G "$RUN/debs/${p}_*.deb" >/dev/null || die "make package built no $p .deb"
done
say "packages: $(cd "$RUN/debs" && echo *.deb)"

# 2. The base system, once.
if [ ! -e "$BASE/.dirscope-base-complete" ]; then
  say "debootstrap --variant=minbase bookworm (cached in $BASE)"
  rm -rf --one-file-system "$BASE.partial"
  timeout 1800 debootstrap --variant=minbase bookworm "$BASE.partial" "$MIRROR" \
    >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$CACHE/debootstrap.log"; die "debootstrap failed"; }
  # debian:bookworm-slim's sources: the release, its updates and security.
  rm -f "$BASE.partial/etc/apt/sources.list"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: %s\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$MIRROR" "${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}" \
    >"$BASE.partial/etc/apt/sources.list.d/debian.sources"
  touch "$BASE.partial/.dirscope-base-complete"
  mv "$BASE.partial" "$BASE"
fi

# The spec: compose.yaml and the Dockerfile, as read by python3-yaml.
/usr/bin/python3 "$REPO/scripts/container_spec.py" "$REPO" >"$RUN/spec.sh" \
  || die "cannot read compose.yaml / Dockerfile"
source "$RUN/spec.sh"
[[ $IMAGE_FROM == debian:bookworm* ]] || die "runtime stage is $IMAGE_FROM, not bookworm"

# 3. The image.
say "image: the Dockerfile's runtime stage on the base (apt-get from $MIRROR)"
mkdir -p "$RUN"/image/{upper,work,root} "$RUN/volumes"
timeout 900 unshare --mount --propagation private "$SELF" __image \
  >"$RUN/image.log" 2>&1 || { tail -n 30 "$RUN/image.log"; die "image build failed"; }
grep -E '^(user|workdir|cmd):' "$RUN/image.log" | while read -r l; do say "image $l"; done
source "$RUN/image.env"

# 4. The network (a bridge in a namespace of its own) and the services.
ip netns add "$NS-net"
ip -n "$NS-net" link add br0 type bridge
ip -n "$NS-net" link set br0 up
{
  echo "127.0.0.1 localhost"
  for i in "${!SERVICES[@]}"; do
    hn=SVC_${i}_HOSTNAME
    echo "$NET.$((10 + i)) ${SERVICES[$i]} ${!hn}"
  done
} >"$RUN/hosts"
for i in "${!SERVICES[@]}"; do
  ip netns add "$NS-$i"
  ip -n "$NS-net" link add "v$i" type veth peer name eth0 netns "$NS-$i"
  ip -n "$NS-net" link set "v$i" master br0 up
  ip -n "$NS-$i" addr add "$NET.$((10 + i))/24" dev eth0
  ip -n "$NS-$i" link set eth0 up
  ip -n "$NS-$i" link set lo up
done

alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# `docker compose exec SERVICE ARGV`: the service's namespaces, root, user.
container_exec() {
  local i=$1 p
  shift
  p=$(pid_of "$i")
  timeout -k 5 30 nsenter --target "$p" --mount --uts --net --pid --root --wd -- \
    /bin/sh -c "$(declare -f as_image_user); PATH_IN=$PATH_IN; as_image_user \"\$@\"" \
    sh "$IMG_USER" "$IMG_HOME" "$IMG_WORKDIR" "$@"
}

start_service() {
  local i=$1 n
  mkdir -p "$RUN/c$i"/{upper,work,root}
  ip netns exec "$NS-$i" unshare --mount --uts --pid --fork --propagation private \
    "$SELF" __container "$i" >"$RUN/c$i/out.log" 2>&1 &
  LAUNCHER[$i]=$!
  STARTED+=("$i")
  for n in $(seq $((WAIT_SECONDS * 10))); do
    [ -s "$RUN/c$i/pid" ] && break
    kill -0 "${LAUNCHER[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  alive "$i" || { cat "$RUN/c$i/out.log"; die "${SERVICES[$i]} did not start"; }
  local -n cmd=SVC_${i}_CMD
  # Until PID 1 is the command itself (not the chroot/setpriv before it).
  for n in $(seq $((WAIT_SECONDS * 10))); do
    [ "$(tr '\0' '\n' <"/proc/$(pid_of "$i")/cmdline" 2>/dev/null | head -n 1)" = "${cmd[0]}" ] && break
    alive "$i" || break
    sleep 0.1
  done
  alive "$i" || { cat "$RUN/c$i/out.log"; die "${SERVICES[$i]} exited at once"; }
  local owner
  owner=$(awk '/^Uid:/ {print $3}' "/proc/$(pid_of "$i")/status")
  [ "$owner" = "$IMG_UID" ] || die "${SERVICES[$i]} runs as uid $owner, not $IMG_USER"
  say "started ${SERVICES[$i]} (pid $(pid_of "$i"), uid $owner): ${cmd[*]}"
}

# compose's healthcheck: the test every interval, at most `retries` times.
wait_healthy() {
  local i=$1 n
  local -n test=SVC_${i}_HEALTH interval=SVC_${i}_HEALTH_INTERVAL retries=SVC_${i}_HEALTH_RETRIES
  for n in $(seq "$retries"); do
    sleep "$interval"
    alive "$i" || die "${SERVICES[$i]} exited before it was healthy"
    if container_exec "$i" "${test[@]}" >/dev/null 2>&1; then
      say "${SERVICES[$i]} healthy after $n check(s): ${test[*]}"
      return 0
    fi
  done
  die "${SERVICES[$i]} not healthy after $retries checks of ${test[*]}"
}

for i in "${!SERVICES[@]}"; do
  declare -n deps=SVC_${i}_DEPS
  for d in "${deps[@]}"; do alive "${d%%$'\t'*}" || die "${SERVICES[$i]}: dependency not running"; done
  unset -n deps
  start_service "$i"
  declare -n health=SVC_${i}_HEALTH
  [ ${#health[@]} -eq 0 ] || wait_healthy "$i"
  unset -n health
done

# 5. The promises. Each node (a --name= in a command) and the directory
# mounted at its --root=.
declare -A NODE_DIR=()
for i in "${!SERVICES[@]}"; do
  declare -n cmd=SVC_${i}_CMD mounts=SVC_${i}_MOUNTS
  name="" root=""
  for a in "${cmd[@]}"; do
    case $a in --name=*) name=${a#--name=} ;; --root=*) root=${a#--root=} ;; esac
  done
  if [ -n "$name" ]; then
    for m in "${mounts[@]}"; do
      IFS=$'\t' read -r kind src dst mode <<<"$m"
      [ "$kind" = bind ] && [ "$dst" = "$root" ] && NODE_DIR[$name]=$src
    done
    [ -n "${NODE_DIR[$name]:-}" ] || die "node $name: no bind mount at its root $root"
  fi
  unset -n cmd mounts
done

# Waits (bounded) until ARGV run in the exec service prints every WORD.
expect_output() {
  local what=$1 words=$2 n out rc missing w
  shift 2
  for n in $(seq "$WAIT_SECONDS"); do
    for w in "${STARTED[@]}"; do
      alive "$w" || die "$what: ${SERVICES[$w]} exited (see $CACHE/last-run/${SERVICES[$w]}.out)"
    done
    rc=0
    out=$(container_exec "$EXEC_SERVICE" "$@" 2>&1) || rc=$?
    missing=""
    for w in $words; do grep -qwF -- "$w" <<<"$out" || missing="$missing $w"; done
    if [ -z "$missing" ] && [ "$rc" = 0 ]; then
      say "ok: $what"
      while IFS= read -r w; do echo "    | $w"; done <<<"$out"
      return 0
    fi
    sleep 1
  done
  echo "$out"
  die "$what: exit status $rc, missing$missing after $WAIT_SECONDS tries"
}

listing() { ls -A "$1" | tr '\n' ' '; }
ls_at=-1
for k in "${!EXEC_CMD[@]}"; do [ "${EXEC_CMD[$k]}" = ls ] && ls_at=$k; done
[ "$ls_at" -gt 0 ] || die "the exec example is not an \`ls NODE:/\`"
target=${EXEC_CMD[$((ls_at + 1))]}
node=${target%%:*}
[ -n "${NODE_DIR[$node]:-}" ] || die "the exec example lists $node, which no service runs"
expect_output "\`${EXEC_CMD[*]}\` lists ${NODE_DIR[$node]#"$REPO"/}/" \
  "$(listing "${NODE_DIR[$node]}")" "${EXEC_CMD[@]}"
prefix=("${EXEC_CMD[@]:0:$ls_at}")
expect_output "\`nodes\` shows ${!NODE_DIR[*]}" "${!NODE_DIR[*]}" "${prefix[@]}" nodes
for name in "${!NODE_DIR[@]}"; do
  expect_output "\`ls $name:/\` lists ${NODE_DIR[$name]#"$REPO"/}/" \
    "$(listing "${NODE_DIR[$name]}")" "${prefix[@]}" ls "$name:/"
done

# Published ports answer from another container's namespace, in TLS
# under the service's name, verified with the CA from the shared volume.
ca=$(find "$RUN/volumes" -maxdepth 2 -name ca.crt | head -n 1)
for i in "${!SERVICES[@]}"; do
  declare -n ports=SVC_${i}_PORTS
  for port in "${ports[@]}"; do
    other=$(( (i + 1) % ${#SERVICES[@]} ))
    code=$(timeout 30 ip netns exec "$NS-$other" curl -sS -o /dev/null \
      -w '%{http_code}' --cacert "$ca" \
      --resolve "${SERVICES[$i]}:$port:$NET.$((10 + i))" \
      "https://${SERVICES[$i]}:$port/") || true
    [ "${code:-000}" != 000 ] || die "${SERVICES[$i]}:$port does not answer from ${SERVICES[$other]}"
    say "ok: https://${SERVICES[$i]}:$port/ answers HTTP $code from ${SERVICES[$other]}'s network"
  done
  unset -n ports
done

# `docker compose down`: SIGTERM in reverse start order, 10 s each.
for ((k = ${#STARTED[@]} - 1; k >= 0; k--)); do
  i=${STARTED[$k]}
  alive "$i" || die "${SERVICES[$i]} exited before the stop"
  kill -TERM "$(pid_of "$i")"
  stopped=0
  for n in $(seq $((STOP_SECONDS * 10))); do
    kill -0 "${LAUNCHER[$i]}" 2>/dev/null || { stopped=1; break; }
    sleep 0.1
  done
  [ "$stopped" = 1 ] || die "${SERVICES[$i]} ignored SIGTERM for ${STOP_SECONDS}s (docker would SIGKILL it)"
  status=0
  wait "${LAUNCHER[$i]}" || status=$?
  say "ok: ${SERVICES[$i]} stopped on SIGTERM (exit status $status)"
done
say "PASS: image and compose.yaml checked in ${SECONDS}s"
