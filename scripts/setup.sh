#!/usr/bin/env bash
# Sets up a Debian 12 machine for vmdeck, from nothing: Debian's packages
# (QEMU, qemu-img, VDE, chromium for the browser tests, busybox-static for the
# test guest, tesseract to read guests' screens), the npm packages (npm ci), the
# test guest, the install media the tests boot, the vmdeck command's bundle and
# the dashboard's production build. Safe to run again: each step skips what is
# already done.
#   bash scripts/setup.sh            everything
#   bash scripts/setup.sh --no-build without `next build`
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
[[ ${1:-} == --no-build ]] && build=''

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

# What vmdeck and its tests run on. qemu-system-{arm,misc,mips,ppc,sparc}
# cover the templates of other architectures; binutils assembles the KVM
# probe guest (the suite checks lib/kvm-probe-image.ts against its source);
# cloud-init and debconf validate the install seeds vmdeck writes; mmdebstrap
# and e2fsprogs build debootstrap disks, openssh-client logs into them; ovmf,
# qemu-efi-aarch64 and swtpm are the UEFI firmware and TPM of FIRMWARE/TPM;
# genisoimage makes the seed volumes and the tests' netinst-layout ISO.
packages=(
	bash util-linux procps iproute2 ca-certificates
	qemu-system-x86 qemu-system-arm qemu-system-misc qemu-system-mips qemu-system-ppc
	qemu-system-sparc qemu-utils vde2
	busybox-static cpio gzip xz-utils zstd
	genisoimage websockify socat chromium tesseract-ocr tesseract-ocr-eng
	binutils openssh-client openssh-server
	cloud-init debconf mmdebstrap e2fsprogs
	ovmf qemu-efi-aarch64 swtpm
	systemd
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}" >&2
	as_root apt-get update -qq
	# The tests run their own sshd (test/helpers/sshd.ts); the system's ssh
	# service is kept from starting (Debian's sshd_not_to_be_run, and no
	# service start during the install) and from being enabled.
	new_sshd=''
	[[ " ${missing[*]} " == *' openssh-server '* ]] && new_sshd=1
	if [[ -n $new_sshd ]]; then as_root mkdir -p /etc/ssh && as_root touch /etc/ssh/sshd_not_to_be_run; fi
	as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	if [[ -n $new_sshd ]]; then
		as_root systemctl disable ssh.service >/dev/null 2>&1 || as_root update-rc.d ssh disable >/dev/null 2>&1 || true
	fi
fi

command -v node >/dev/null || { echo "setup: Node.js 20 or newer is needed (node not found)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
	{ echo "setup: Node.js 20 or newer is needed (found $(node -v))" >&2; exit 1; }

# npm ci only when the installed tree is older than the lock.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
	echo "setup: npm ci" >&2
	npm ci --no-audit --no-fund >/dev/null
fi

bash scripts/build-guest.sh amd64 >/dev/null
# Real install media for the tests (the installer's PXE tree, GRUB's rescue ISO).
bash scripts/build-media.sh >/dev/null
# The vmdeck command's bundle (bin/vmdeck.js falls back to the sources when it is stale).
node scripts/build-cli.mjs >/dev/null

if [[ -n $build ]]; then
	# Rebuild the dashboard when any of its sources is newer than the build.
	if [[ ! -f .next/BUILD_ID ]] || [[ -n $(find app components lib next.config.js package-lock.json -newer .next/BUILD_ID -print -quit 2>/dev/null) ]]; then
		echo "setup: next build" >&2
		# Its log in this checkout (.cache is ignored by git), not at a path every user of /tmp shares.
		mkdir -p .cache
		npx next build >.cache/next-build.log 2>&1 || { tail -n 40 .cache/next-build.log >&2; exit 1; }
	fi
fi
echo "setup: ready" >&2
