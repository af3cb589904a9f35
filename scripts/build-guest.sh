#!/usr/bin/env bash
# Build (and cache) a tiny real Linux guest for vmdeck's tests and demo:
# Debian's cloud kernel plus a busybox-only initramfs that boots straight to a
# root shell on the serial console.
#
# Usage: scripts/build-guest.sh [amd64|arm64]        (default: amd64)
#
# Output: ${VMDECK_CACHE:-<repo>/.cache}/guest/<arch>/{vmlinuz,initrd.img,STAMP}
# stdout (only these lines; progress goes to stderr):
#   KERNEL=<abs path>  INITRD=<abs path>  APPEND=<recommended kernel cmdline>
#
# Recommended kernel command line (APPEND):
#   amd64: console=tty0 console=ttyS0,115200 quiet panic=-1
#   arm64: console=ttyAMA0 quiet panic=-1
# Optional guest network (eth0, via busybox ip; without it eth0 stays down):
#   vmdeck.ip=ADDR/PREFIX [vmdeck.gw=GW]   e.g. vmdeck.ip=10.0.2.15/24 vmdeck.gw=10.0.2.2
#
# Example (amd64, TCG):
#   qemu-system-x86_64 -accel tcg -m 256 -kernel vmlinuz -initrd initrd.img \
#     -append "console=tty0 console=ttyS0,115200 quiet panic=-1" \
#     -display none -serial stdio -no-reboot
# Example (arm64, TCG):
#   qemu-system-aarch64 -M virt -cpu cortex-a57 -accel tcg -m 256 -kernel vmlinuz \
#     -initrd initrd.img -append "console=ttyAMA0 quiet panic=-1" -display none -serial stdio
#
# Guest behaviour: prompt is exactly "guest:$PWD# " (e.g. "guest:/# "); the line
# "vmdeck-guest: ready" is printed on the serial console just before the shells
# start (wait for the prompt, not for that line, before typing); Ctrl-Alt-Del
# prints "vmdeck-guest: ctrl-alt-del" on the serial console and does nothing
# else; there is no acpid, so an ACPI power-button press is ignored;
# "poweroff -f" ends QEMU.
#
# Note: Debian's *cloud* kernel has no e1000 / 8139too / 8139cp drivers at all
# (not even as modules), so only virtio-net gives the guest a NIC with it. The
# module list below still names them so that VMDECK_GUEST_FLAVOUR=generic
# (Debian's generic kernel, linux-image-<arch>, which has them) works as well.
set -euo pipefail

ARCH=${1:-amd64}
case "$ARCH" in
  amd64) SERIAL=ttyS0;   APPEND='console=tty0 console=ttyS0,115200 quiet panic=-1' ;;
  arm64) SERIAL=ttyAMA0; APPEND='console=ttyAMA0 quiet panic=-1' ;;
  *) echo "usage: $0 [amd64|arm64]" >&2; exit 2 ;;
esac
# cloud (default, small and fast to boot) or generic (has e1000/rtl8139 drivers).
FLAVOUR=${VMDECK_GUEST_FLAVOUR:-cloud}
case "$FLAVOUR" in
  cloud) META=linux-image-cloud-$ARCH ;;
  generic) META=linux-image-$ARCH ;;
  *) echo "VMDECK_GUEST_FLAVOUR must be cloud or generic" >&2; exit 2 ;;
esac

log() { printf 'build-guest: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
CACHE=${VMDECK_CACHE:-$REPO/.cache}
mkdir -p "$CACHE/guest"
CACHE=$(cd "$CACHE" && pwd)            # absolute, so printed paths are too
OUT=$CACHE/guest/$ARCH
KERNEL=$OUT/vmlinuz
INITRD=$OUT/initrd.img
STAMP=$OUT/STAMP

# The cache key: this script, anything under scripts/guest/, and the options.
# Any edit to how the guest is built therefore forces a rebuild.
build_hash() {
  {
    printf 'arch=%s flavour=%s\n' "$ARCH" "$FLAVOUR"
    cat "$SCRIPT_DIR/build-guest.sh"
    if [ -d "$SCRIPT_DIR/guest" ]; then
      (cd "$SCRIPT_DIR" && find guest -type f -print0 | LC_ALL=C sort -z |
        xargs -0r sha256sum)
    fi
  } | sha256sum | cut -d' ' -f1
}
HASH=$(build_hash)

print_result() {
  printf 'KERNEL=%s\nINITRD=%s\nAPPEND=%s\n' "$KERNEL" "$INITRD" "$APPEND"
}

# Cached only if all three files exist and STAMP (written last) has our hash.
is_cached() {
  [ -s "$KERNEL" ] && [ -s "$INITRD" ] && [ -f "$STAMP" ] &&
    grep -qx "BUILD_HASH=$HASH" "$STAMP"
}

if is_cached; then print_result; exit 0; fi

# Serialize concurrent builds of the same arch (parallel test runners), then
# re-check: another process may have just finished the same build.
exec 9>"$CACHE/guest/.lock-$ARCH"
flock 9
if is_cached; then print_result; exit 0; fi

export DEBIAN_FRONTEND=noninteractive
HOST_ARCH=$(dpkg --print-architecture)

need_root() {
  [ "$(id -u)" = 0 ] || die "need root to $* (or install it beforehand)"
}

# Install host tools only when missing; never pull in recommends.
missing=()
command -v cpio >/dev/null || missing+=(cpio)
command -v xz >/dev/null || missing+=(xz-utils)     # for .ko.xz modules
command -v zstd >/dev/null || missing+=(zstd)       # for .ko.zst modules
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
# Native arch: the host's busybox-static goes into the initrd. But never swap
# out an installed dynamic "busybox" (they conflict); download the .deb instead.
BB_FROM_HOST=0
if [ "$HOST_ARCH" = "$ARCH" ]; then
  if installed busybox-static; then BB_FROM_HOST=1
  elif ! installed busybox; then missing+=(busybox-static); BB_FROM_HOST=1
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  need_root "apt-get install ${missing[*]}"
  log "installing ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
fi

# A foreign target arch needs its package lists (for the kernel and busybox).
if [ "$HOST_ARCH" != "$ARCH" ] && ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
  need_root "dpkg --add-architecture $ARCH"
  log "adding dpkg architecture $ARCH"
  dpkg --add-architecture "$ARCH"
  apt-get update >&2
fi
if ! apt-cache show "$META:$ARCH" >/dev/null 2>&1; then
  need_root "apt-get update"
  apt-get update >&2
fi

# Work next to the output so the final renames are atomic (same filesystem);
# an interrupted build leaves only this temp dir, which is removed on exit
# (or, after a SIGKILL, by the next build: we hold the lock, so it is stale).
rm -rf "$CACHE/guest/.build-$ARCH".*
TMP=$(mktemp -d "$CACHE/guest/.build-$ARCH.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM   # so EXIT runs

# apt-get download; retry once after "apt-get update" (stale lists give 404s
# when the security archive has moved on to a newer kernel).
download() {
  local pkg=$1
  # Sandbox user root: avoids _apt permission warnings in our 0700 temp dir.
  (cd "$TMP" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2) && return 0
  [ "$(id -u)" = 0 ] || return 1
  log "download of $pkg failed; running apt-get update and retrying"
  apt-get update >&2
  (cd "$TMP" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2)
}

# --- kernel: the real versioned package behind the metapackage -------------
KPKG=$(apt-cache depends --no-recommends --no-suggests --no-enhances \
         --no-breaks --no-conflicts --no-replaces "$META:$ARCH" |
       awk '!k && $1 == "Depends:" && $2 ~ /^linux-image-/ { k = $2; sub(/:.*/, "", k) }
            END { print k }')
[ -n "$KPKG" ] || die "cannot resolve the kernel package behind $META:$ARCH"
log "kernel package: $KPKG ($ARCH)"
download "$KPKG:$ARCH"
KDEB=$(ls "$TMP"/"$KPKG"_*_"$ARCH".deb)
KVER=$(dpkg-deb -f "$KDEB" Version)
mkdir "$TMP/kernel"
dpkg-deb -x "$KDEB" "$TMP/kernel"     # extract only: never install it
VMLINUZ=$(ls "$TMP"/kernel/boot/vmlinuz-*)
KREL=${VMLINUZ##*/vmlinuz-}
MODDIR=$TMP/kernel/lib/modules/$KREL
[ -d "$MODDIR" ] || die "no modules directory for $KREL"

# --- busybox: static, for the target arch ----------------------------------
if [ "$BB_FROM_HOST" = 1 ]; then
  BUSYBOX=/bin/busybox
  BBVER=$(dpkg-query -W -f='${Version}' busybox-static)
else
  download "busybox-static:$ARCH"
  BBDEB=$(ls "$TMP"/busybox-static_*_"$ARCH".deb)
  BBVER=$(dpkg-deb -f "$BBDEB" Version)
  mkdir "$TMP/bb"
  dpkg-deb -x "$BBDEB" "$TMP/bb"
  BUSYBOX=$TMP/bb/bin/busybox
fi
[ -x "$BUSYBOX" ] || die "busybox binary not found at $BUSYBOX"

# --- initramfs tree ---------------------------------------------------------
R=$TMP/root
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,lib/modules}
install -m 0755 "$BUSYBOX" "$R/bin/busybox"
# Only what runs before "busybox --install -s" in /init needs a link now;
# the other applet links are created at boot (cheap, and works for a foreign
# arch whose busybox cannot run here to list its applets).
ln -s busybox "$R/bin/sh"
# The kernel's built-in initramfs usually has /dev/console already; add it in
# case, but mknod may be refused (e.g. in a container), which is fine.
mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true

# Kernel modules, in load order. Dependencies come from each module's own
# .modinfo "depends=" (no depmod/modinfo needed); built-in or absent ones are
# skipped. Debian may ship .ko, .ko.xz or .ko.zst: store plain .ko, because
# busybox insmod cannot read compressed modules.
WANT=(virtio virtio_ring)
[ "$ARCH" = arm64 ] && WANT+=(virtio_mmio)   # virtio-*-device on -M virt
WANT+=(virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
       failover net_failover virtio_net e1000 8139too 8139cp
       virtio_blk)   # the disk: graphs of disk I/O need the guest to write one
declare -A MODPATH=() SEEN=()
while IFS= read -r -d '' f; do
  n=${f##*/}; n=${n%%.ko*}; MODPATH[${n//-/_}]=$f
done < <(find "$MODDIR/kernel" -name '*.ko*' -print0)
ORDER=()
add_module() {
  local name=${1//-/_} f dep deps
  [ -z "${SEEN[$name]:-}" ] || return 0
  SEEN[$name]=1
  f=${MODPATH[$name]:-}
  if [ -z "$f" ]; then
    if grep -q "/${name//_/[-_]}\.ko" "$MODDIR/modules.builtin" 2>/dev/null; then
      log "module $name: built into the kernel"
    else
      log "module $name: not available in this kernel (skipped)"
    fi
    return 0
  fi
  case "$f" in
    *.ko.xz) xz -dc "$f" ;;
    *.ko.zst) zstd -qdc "$f" ;;
    *.ko.gz) gzip -dc "$f" ;;
    *) cat "$f" ;;
  esac > "$R/lib/modules/$name.ko"
  deps=$(tr '\0' '\n' < "$R/lib/modules/$name.ko" | sed -n 's/^depends=//p')
  for dep in ${deps//,/ }; do add_module "$dep"; done
  ORDER+=("$name")
  log "module $name: included"
}
for m in "${WANT[@]}"; do add_module "$m"; done
printf '%s\n' "${ORDER[@]}" > "$R/etc/modules"

# /init: PID 1 from the initramfs. Set up the basics, then become busybox init.
cat > "$R/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
hostname guest
# Modules were listed in dependency order at build time.
while read -r m; do
  insmod "/lib/modules/$m.ko" 2>/dev/null || true
done < /etc/modules
ip link set lo up
# eth0 only from the kernel command line: vmdeck.ip=ADDR/PREFIX [vmdeck.gw=GW]
ipaddr= gw=
set -f
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vmdeck.ip=*) ipaddr=${arg#vmdeck.ip=} ;;
    vmdeck.gw=*) gw=${arg#vmdeck.gw=} ;;
  esac
done
set +f
if [ -n "$ipaddr" ]; then
  # The NIC can appear a moment after its driver loads; wait at most ~3 s.
  i=0
  while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 30 ]; do usleep 100000; i=$((i+1)); done
  if ip link set eth0 up 2>/dev/null && ip addr add "$ipaddr" dev eth0; then
    [ -z "$gw" ] || ip route add default via "$gw" || true
  else
    echo "vmdeck-guest: cannot configure eth0 with $ipaddr" > /dev/console
  fi
fi
exec /sbin/init
EOF
chmod 0755 "$R/init"

# busybox init: a job-control shell on the serial console (init opens the tty
# as the shell's controlling terminal), one on the VGA console (amd64), and a
# Ctrl-Alt-Del action that only reports it. No acpid: power button ignored.
{
  echo "::sysinit:/bin/echo vmdeck-guest: ready > /dev/$SERIAL"
  echo "$SERIAL::respawn:/bin/sh -l"
  [ "$ARCH" = amd64 ] && echo "tty1::respawn:/bin/sh -l"
  # "null": init resets the termios of an action's tty; on the serial console
  # that would break the line editing of the shell already running there.
  echo "null::ctrlaltdel:/bin/echo vmdeck-guest: ctrl-alt-del > /dev/$SERIAL"
} > "$R/etc/inittab"
# busybox init runs actions via "sh -c" when they contain shell syntax such as
# ">", so the redirections above work.

cat > "$R/etc/profile" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root
# Prompt exactly "guest:$PWD# " (e.g. "guest:/# "): tests match it.
export PS1='guest:$PWD# '
cd /
EOF
echo guest > "$R/etc/hostname"
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"

# newc cpio, gzip; sorted and with fixed timestamps so rebuilds are identical.
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . -print0 | LC_ALL=C sort -z |
   cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) |
  gzip -9 -n > "$TMP/initrd.img"
cp "$VMLINUZ" "$TMP/vmlinuz"
cat > "$TMP/STAMP" <<EOF
KERNEL_PACKAGE=$KPKG
KERNEL_VERSION=$KVER
KERNEL_RELEASE=$KREL
BUSYBOX_VERSION=$BBVER
ARCH=$ARCH
FLAVOUR=$FLAVOUR
MODULES=${ORDER[*]}
APPEND=$APPEND
BUILD_HASH=$HASH
EOF

# Publish: drop STAMP first so a half-replaced set never looks cached, rename
# each file into place (atomic), and write STAMP last.
mkdir -p "$OUT"
rm -f "$STAMP"
mv -f "$TMP/vmlinuz" "$KERNEL"
mv -f "$TMP/initrd.img" "$INITRD"
mv -f "$TMP/STAMP" "$STAMP"
log "built $ARCH guest: $KPKG $KVER, initrd $(stat -c %s "$INITRD") bytes"
print_result
