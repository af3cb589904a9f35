#!/usr/bin/env bash
# Fetch (and cache) the real install media vmdeck's tests boot, from Debian's
# own packages (apt-get download + dpkg-deb -x; nothing is installed):
#   netboot  debian-installer-12-netboot-amd64: the Debian installer's PXE tree
#            (pxelinux.0, ldlinux.c32, debian-installer/amd64/{linux,initrd.gz})
#   rescue   grub-rescue-pc: GRUB's rescue ISO (grub-rescue-cdrom.iso)
#   netinst  an ISO with the layout of a Debian netinst CD, made of netboot's
#            installer: /install.amd/vmlinuz and initrd.gz, /.disk/info
#            (genisoimage, Rock Ridge and Joliet as debian-cd's xorriso
#            writes them). No package ships a netinst ISO or its cdrom initrd;
#            this one's initrd is the netboot one (it fetches from a mirror).
#
# Usage: scripts/build-media.sh [netboot|rescue|netinst]...   (default: netboot rescue)
# Output: ${VMDECK_CACHE:-<repo>/.cache}/media/<name>/ with a STAMP of the
# package version; stdout (only these lines):
#   NETBOOT=<abs dir of the PXE tree>   RESCUE_ISO=<abs path of the ISO>
#   NETINST_ISO=<abs path of the ISO>
set -euo pipefail

log() { printf 'build-media: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
CACHE=${VMDECK_CACHE:-$REPO/.cache}
mkdir -p "$CACHE/media"
CACHE=$(cd "$CACHE" && pwd)

# The package's candidate version is the cache key: a point release that
# updates the installer fetches it again.
candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'; }

# fetch NAME PACKAGE: extracts PACKAGE into $CACHE/media/NAME/root unless the
# STAMP there names its version already. A failed fetch leaves the old tree.
fetch() {
	local name=$1 pkg=$2 out=$CACHE/media/$1 version tmp deb
	version=$(candidate "$pkg")
	if [[ -z $version || $version == '(none)' ]]; then
		if [[ -f $out/STAMP ]]; then return 0; fi
		if [[ $(id -u) == 0 ]]; then apt-get update -qq >&2; version=$(candidate "$pkg"); fi
		[[ -n $version && $version != '(none)' ]] || die "$pkg: not in this host's package lists (apt-get update)"
	fi
	[[ -f $out/STAMP && $(<"$out/STAMP") == "$pkg $version" ]] && return 0
	log "fetching $pkg $version"
	tmp=$(mktemp -d "$CACHE/media/.$name.XXXXXX")
	trap 'rm -rf -- "$tmp"' EXIT
	if ! (cd "$tmp" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2); then
		[[ $(id -u) == 0 ]] || die "apt-get download $pkg failed"
		apt-get update -qq >&2
		(cd "$tmp" && apt-get download -o APT::Sandbox::User=root "$pkg" >&2) || die "apt-get download $pkg failed"
	fi
	deb=$(ls "$tmp"/*.deb)
	dpkg-deb -x "$deb" "$tmp/root"
	rm -f -- "$deb"
	printf '%s %s\n' "$pkg" "$version" >"$tmp/STAMP"
	rm -rf -- "$out"
	mv -- "$tmp" "$out"
	trap - EXIT
}

# netinst: the netinst CD's layout around netboot's installer, made again when
# the netboot package (its STAMP) changes. Built beside, then moved in whole.
netinst() {
	local out=$CACHE/media/netinst stamp tmp
	local di=$CACHE/media/netboot/root/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
	stamp="netinst 1 $(<"$CACHE/media/netboot/STAMP")"
	[[ -f $out/STAMP && $(<"$out/STAMP") == "$stamp" && -f $out/netinst.iso ]] && return 0
	[[ -f $di/linux && -f $di/initrd.gz ]] || die "netinst: no installer in $di"
	command -v genisoimage >/dev/null || die "netinst: genisoimage is not installed (apt-get install genisoimage)"
	log "making the netinst-layout ISO"
	tmp=$(mktemp -d "$CACHE/media/.netinst.XXXXXX")
	trap 'rm -rf -- "$tmp"' EXIT
	mkdir -p "$tmp/cd/install.amd" "$tmp/cd/.disk"
	cp -- "$di/linux" "$tmp/cd/install.amd/vmlinuz"
	cp -- "$di/initrd.gz" "$tmp/cd/install.amd/initrd.gz"
	printf 'Debian GNU/Linux 12 "Bookworm" - vmdeck test amd64 NETINST (netboot installer)\n' >"$tmp/cd/.disk/info"
	genisoimage -quiet -rational-rock -joliet -volid 'Debian 12 amd64 n' -output "$tmp/netinst.iso" "$tmp/cd"
	rm -rf -- "$tmp/cd"
	printf '%s\n' "$stamp" >"$tmp/STAMP"
	rm -rf -- "$out"
	mv -- "$tmp" "$out"
	trap - EXIT
}

what=("$@")
((${#what[@]})) || what=(netboot rescue)
for w in "${what[@]}"; do
	case $w in
	netboot)
		fetch netboot debian-installer-12-netboot-amd64
		tree=$CACHE/media/netboot/root/usr/lib/debian-installer/images/12/amd64/text
		[[ -f $tree/pxelinux.0 ]] || die "netboot: no pxelinux.0 in $tree"
		printf 'NETBOOT=%s\n' "$tree" ;;
	rescue)
		fetch rescue grub-rescue-pc
		iso=$CACHE/media/rescue/root/usr/lib/grub-rescue/grub-rescue-cdrom.iso
		[[ -f $iso ]] || die "rescue: no grub-rescue-cdrom.iso in $CACHE/media/rescue"
		printf 'RESCUE_ISO=%s\n' "$iso" ;;
	netinst)
		fetch netboot debian-installer-12-netboot-amd64
		netinst
		printf 'NETINST_ISO=%s\n' "$CACHE/media/netinst/netinst.iso" ;;
	*) echo "usage: $0 [netboot|rescue|netinst]..." >&2; exit 2 ;;
	esac
done
