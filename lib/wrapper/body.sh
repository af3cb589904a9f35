# ---------------------------------------------------------------------------
# The body below is the same for every VM; only the header above differs.
# It needs bash and QEMU, nothing of vmdeck.
# ---------------------------------------------------------------------------
set -u -o pipefail
shopt -s extglob

# CONF_KIND=ctys: vmdeck runs a ctys-made config (beside ctys's own wrapper,
# which is never run) through this body, from its own copy: the header names
# the config's directory, and ctys's meanings apply (ctys_meanings below).
if [[ ${CONF_KIND:-vmdeck} == ctys ]]; then
	VMDIR=$CONF_DIR
	SELF="vmdeck-${CONF_NAME%.ctys}.sh"
else
	CONF_KIND=vmdeck
	# The script's own directory, physical: with no dirname to run, and never
	# through CDPATH (a relative name there would find another directory).
	VMDIR=${BASH_SOURCE[0]%/*}
	[[ $VMDIR == "${BASH_SOURCE[0]}" ]] && VMDIR=.
	VMDIR=$(CDPATH='' cd -P -- "${VMDIR:-/}" && pwd -P) || exit 1
	SELF=${BASH_SOURCE[0]##*/}
fi
CONF="$VMDIR/$CONF_NAME"

# Exit codes: 1 a problem with the VM or the host, 2 a bad option,
# 3 already running (vmdeck start --reuse relies on it).
die() { printf '%s: %s\n' "$SELF" "$*" >&2; exit "${DIE_CODE:-1}"; }

usage() {
	cat <<USAGE
Usage: $SELF [OPTION]...
Starts the QEMU VM described by $CONF_NAME (daemonized unless the console is CLI/CLI0).

  --print[=shell]          print the final QEMU command, one argument per line
                           (=shell: one option per line, ready to paste); starts nothing
  --check                  dry run: validate binary, images, runtime dir, network; starts nothing
  --console=MODE           VNC|SDL|CLI|CLI0|NONE (default: DEFAULTCONSOLE)
  --vncaccessdisplay=N     also offer VNC display N on 127.0.0.1 (TCP port 5900+N)
  --bootmode=MODE[%PATH]   VHDD|CD|DVD|PXE|FDD|USB|KERNEL, optionally with its source
                           (PXE%DIR: user networking serves the TFTP tree DIR)
  --instmode[=MODE%SRC%TARGETMODE%TARGET%STAGE]
                           boot the install source with the disk as install target
  --kernelmode=KERNEL%INITRD%APPEND
                           boot a kernel directly
  --runtime-dir=DIR        sockets, pidfile and logs (default \$VMDECK_RUN/<LABEL>)
  --foreground             do not daemonize
  -h, --help               this text
USAGE
}

opt_print='' opt_check='' opt_console='' opt_vncdisplay='' opt_bootmode=''
opt_instmode='' opt_kernelmode='' opt_rundir='' opt_foreground=''
for arg in "$@"; do
	case $arg in
	--print) opt_print=args ;;
	--print=shell) opt_print=shell ;;
	--check) opt_check=1 ;;
	--console=*) opt_console=${arg#*=} ;;
	--vncaccessdisplay=*) opt_vncdisplay=${arg#*=} ;;
	--bootmode=*) opt_bootmode=${arg#*=} ;;
	--instmode) opt_instmode=% ;;
	--instmode=*) opt_instmode=${arg#*=} ;;
	--kernelmode=*) opt_kernelmode=${arg#*=} ;;
	--runtime-dir=*)
		opt_rundir=${arg#*=}
		# Absolute, as QEMU's pidfile and sockets name it for vmdeck to find.
		[[ -z $opt_rundir || $opt_rundir == /* ]] || opt_rundir=$PWD/$opt_rundir ;;
	--foreground) opt_foreground=1 ;;
	-h | --help) usage; exit 0 ;;
	*) DIE_CODE=2 die "unknown option '$arg' (see $SELF -h)" ;;
	esac
done

# --- ctys's meanings, for a ctys-made config (CONF_KIND=ctys) ---------------
# What ctys's wrapper (template.QEMU.sh) does with the same config, where
# vmdeck's defaults would do otherwise; docs/CTYS.md lists them.

ctys_meanings() { # after the config is sourced, before vmdeck's defaults
	# ctys keeps the console in the #@#DEFAULTCONSOLE marker only.
	[[ -n ${DEFAULTCONSOLE:-} ]] || conf_marker DEFAULTCONSOLE DEFAULTCONSOLE
	# ctys adds a NIC only when NIC is set (NIC= is none) and puts it on the
	# VDE switch QEMUSOCK, ctys-setupVDE's /var/tmp/vde_switch0.$USER by default.
	if [[ -z ${NETMODE:-} ]]; then
		if [[ -z ${NIC-unset} ]]; then NETMODE=none; else NETMODE=vde; fi
	fi
	if [[ ${NETMODE,,} == vde && -z ${QEMUSOCK:-} ]]; then QEMUSOCK=/var/tmp/vde_switch0.${USER:-$(id -un)}; fi
	# The interfaces are chosen for the machine in ctys_late unless the config names them.
	ctys_hdd_if=${HDDBOOTIMAGE_IF:-} ctys_cd_if=${CDROM_IF:-}
	# ctys passes -kernel/-initrd with whatever it boots, the disk included.
	ctys_kernel=${KERNELIMAGE:-}
	return 0
}

ctys_late() { # once ARGSADD is an array
	local i rest=()
	# A ctys config names its board in ARGSADD (-M integratorcp): a machine for vmdeck.
	for ((i = 0; i < ${#ARGSADD[@]}; i++)); do
		if [[ -z $MACHINE && ( ${ARGSADD[i]} == -M || ${ARGSADD[i]} == -machine ) ]] && ((i + 1 < ${#ARGSADD[@]})); then
			MACHINE=${ARGSADD[i + 1]}; i=$((i + 1))
		else
			rest+=("${ARGSADD[i]}")
		fi
	done
	ARGSADD=("${rest[@]+"${rest[@]}"}")
	# ctys's TIMEOPT (-localtime, an option QEMU has dropped) and VGADRIVER.
	[[ ${TIMEOPT:-} == *-localtime* ]] && ARGSADD+=(-rtc base=localtime)
	machine_buses
	if [[ -z $VGA && ${VGADRIVER:-} =~ -(std-)?vga([[:space:]]+([a-z]+))? ]] && bus_has PCI PCIE ISA; then
		VGA=${BASH_REMATCH[3]:-std}
	fi
	# QEMU refuses a drive no device of the machine takes: each goes on a bus
	# the machine has (IDE first, as ctys's -hda and -cdrom), else not at all.
	DISK_NOBUS=''
	if [[ -z $ctys_hdd_if && -n $BUSES ]]; then
		if bus_has IDE; then HDDBOOTIMAGE_IF=ide
		elif bus_has PCI PCIE; then HDDBOOTIMAGE_IF=virtio
		elif bus_has SCSI; then HDDBOOTIMAGE_IF=scsi
		elif bus_has sd-bus; then HDDBOOTIMAGE_IF=sd
		else HDDBOOTIMAGE_IF=ide; DISK_NOBUS=1
		fi
	elif [[ -z $ctys_hdd_if ]]; then
		HDDBOOTIMAGE_IF=ide
	fi
	if [[ -z $ctys_cd_if && -n $BUSES ]]; then
		if bus_has IDE; then CDROM_IF=ide; elif bus_has SCSI; then CDROM_IF=scsi; else CDROM_IF=none; fi
	elif [[ -z $ctys_cd_if ]]; then
		CDROM_IF=ide
	fi
	return 0
}

# bus_has TYPE...: whether the machine has a bus of one of these types (or names).
bus_has() {
	local t
	for t; do [[ " $BUSES " == *" $t "* ]] && return 0; done
	return 1
}

# machine_buses: BUSES, the types and names of the buses the machine has, as
# QEMU itself lists them (info qtree of the machine, started paused, no
# devices added); kept in the runtime root per binary and machine.
machine_buses() {
	BUSES=''
	local bin=$STARTERCALL cache='' root=${VMDECK_RUN:-${XDG_RUNTIME_DIR:-/tmp}/vmdeck-$EUID} line kernel
	[[ $bin == */* ]] || ctys_which bin "$STARTERCALL"
	[[ -n $bin && -x $bin ]] || return 0
	if [[ -d $root && -O $root ]]; then
		cache="$root/machines/${bin//\//_}.${MACHINE:-default}"
		if [[ -f $cache && $cache -nt $bin ]]; then
			IFS= read -r BUSES <"$cache" || true
			return 0
		fi
	fi
	local probe=("$bin" -S -nodefaults -display none -qtest null -monitor stdio -m "$MEMSIZE")
	[[ -n $MACHINE ]] && probe+=(-machine "$MACHINE")
	# Some boards (mcf5208evb) will not come up without a kernel: an empty one does.
	for kernel in '' /dev/null; do
		while IFS= read -r line; do
			[[ $line =~ ^[[:space:]]*bus:[[:space:]]+([^[:space:]]+) ]] && BUSES+="${BASH_REMATCH[1]} "
			[[ $line =~ ^[[:space:]]*type[[:space:]]+([^[:space:]]+)[[:space:]]*$ ]] && BUSES+="${BASH_REMATCH[1]} "
		done < <(printf 'info qtree\nquit\n' | timeout 10 "${probe[@]}" ${kernel:+-kernel "$kernel"} 2>/dev/null)
		[[ " $BUSES " == *' System '* ]] && break
		BUSES=''
	done
	BUSES=${BUSES% }
	if [[ -n $cache && -n $BUSES ]] && mkdir -p -m 0700 -- "$root/machines" 2>/dev/null; then
		printf '%s\n' "$BUSES" >"$cache.$$" && mv -f -- "$cache.$$" "$cache"
	fi
	return 0
}

# The disk's format: ctys hands QEMU the image to probe; a qcow2 one starts with QFI\xfb.
ctys_disk_format() {
	local magic='' LC_ALL=C
	[[ -z $HDDBOOTIMAGE_FORMAT && -f $HDD && -r $HDD ]] || return 0
	# Up to 4 bytes, and not past a NUL: read drops NULs, and -N 4 read a zero-filled image whole to find 4 others.
	IFS= read -r -n 4 -d '' magic <"$HDD" 2>/dev/null || true
	if [[ $magic == $'QFI\xfb' ]]; then HDDBOOTIMAGE_FORMAT=qcow2; else HDDBOOTIMAGE_FORMAT=raw; fi
}

[[ -r $CONF ]] || die "config '$CONF' is missing or unreadable"
# The config is bash and may hold the user's own logic: source it without
# nounset so that a reference to an unset variable there is not fatal.
set +u
# What ctys's wrapper has set when it sources a config (CTYSWRAPPERPATH, …).
ctys_env "$VMDIR" "${CONF_NAME%.ctys}.sh"
# ctys's wrapper sources from the VM's directory; relative paths in a ctys config mean that.
if [[ $CONF_KIND == ctys ]]; then cd -- "$VMDIR" || die "config '$CONF': cannot enter its directory"; fi
# shellcheck source=/dev/null
source "$CONF" || die "config '$CONF' failed to load"
set -u

# conf_marker VAR NAME: the value of the marker #@#NAME in the config, as
# ctys's ENUMERATE reads it (first one wins, quotes dropped, trimmed).
conf_marker() {
	local line value re='^ *#@#'"$2"' *= *"*([^"]*)'
	printf -v "$1" '%s' ''
	while IFS= read -r line || [[ -n $line ]]; do
		[[ $line == *"#@#$2"* ]] || continue
		line=${line//$'\t'/}; line=${line//\'/\"}
		if [[ $line =~ $re ]]; then
			value=${BASH_REMATCH[1]}
			value=${value#"${value%%[![:space:]]*}"}; value=${value%"${value##*[![:space:]]}"}
			printf -v "$1" '%s' "$value"
			return 0
		fi
	done <"$CONF"
}

# The label, one rule with vmdeck's ENUMERATE: the #@#LABEL marker (ctys
# addresses a VM by it), else LABEL, else the config's name.
conf_marker marker_label LABEL
[[ -n $marker_label ]] && LABEL=$marker_label

[[ $CONF_KIND == ctys ]] && ctys_meanings

# --- values, with ctys's defaults where the config says nothing -------------

: "${LABEL:=${CONF_NAME%.ctys}}" "${UUID:=}" "${MAC0:=}" "${ARCH:=x86_64}"
: "${ACCELERATOR:=QEMU}" "${STARTERCALL:=qemu-system-x86_64}" "${MACHINE:=}" "${CPU:=}"
: "${SMP:=1}" "${MEMSIZE:=256}" "${HDDBOOTIMAGE:=}" "${HDDBOOTIMAGE_FORMAT:=}"
: "${HDDBOOTIMAGE_IF:=virtio}" "${CDROM_IF:=ide}" "${NIC:=rtl8139}" "${NETMODE:=user}"
: "${QEMUSOCK:=}" "${TAPDEV:=}" "${HOSTFWD:=}" "${VGA:=}" "${KBD_LAYOUT:=}"
: "${DEFAULTBOOTMODE:=VHDD}" "${DEFAULTINSTMODE:=CD}" "${INSTSRCCDROM:=}" "${INSTSRCFDD:=}"
: "${INSTSRCUSB:=}" "${PXEROOT:=}" "${PXEBOOTFILE:=pxelinux.0}" "${KERNELIMAGE:=}" "${INITRDIMAGE:=}" "${APPEND:=}"
: "${SEEDIMAGE:=}" "${DEFAULTCONSOLE:=VNC}" "${VNCACCESSDISPLAY:=}" "${QEMUMONSOCK:=}"
: "${FIRMWARE:=BIOS}" "${SECUREBOOT:=off}" "${TPM:=none}"
: "${CLIPBOARD:=}"
# words ARRAY STRING: the blank-separated words of a config value (blanks and
# newlines, whatever IFS the config set), never glob-expanded or evaluated. An
# unquoted $VAR would expand `*` or `?` against the current directory.
words() { IFS=$' \t\n' read -r -d '' -a "$1" <<<"$2" || true; }
# ARGSADD is a bash array; ctys wrote it as a string of words.
if [[ -z ${ARGSADD[@]+set} || ${ARGSADD@a} != *a* ]]; then
	words ARGSADD "${ARGSADD:-}"
fi
[[ $CONF_KIND == ctys ]] && ctys_late

# The helpers below set the variable named first (printf -v): a $(…) per call
# would fork a subshell, and --print/--check are run often.
upper() { printf -v "$1" '%s' "${2^^}"; }
oneof() { # oneof FIELD VALUE ALLOWED...
	local field=$1 value=$2; shift 2
	local v; for v; do [[ $value == "$v" ]] && return 0; done
	die "$field: '$value' is not one of: $*"
}
# A relative path in the config is relative to the VM's directory.
abspath() { case $2 in '' | /*) printf -v "$1" '%s' "$2" ;; *) printf -v "$1" '%s/%s' "$VMDIR" "$2" ;; esac; }
# QEMU splits option values at commas; a comma inside a value is doubled:
# "file=${PATH//,/,,}" below.
# Single-quote a value for the /bin/sh that QEMU runs for exec: migration.
shq() { printf -v "$1" "'%s'" "${2//\'/\'\\\'\'}"; }

upper ACCELERATOR "$ACCELERATOR"; oneof ACCELERATOR "$ACCELERATOR" KVM QEMU
NETMODE=${NETMODE,,}; oneof NETMODE "$NETMODE" user vde tap none
[[ -z $CLIPBOARD ]] || oneof CLIPBOARD "$CLIPBOARD" vdagent
[[ $SMP =~ ^[1-9][0-9]*$ ]] || die "SMP: '$SMP' is not a positive number of CPUs"
[[ $MEMSIZE =~ ^[1-9][0-9]*$ ]] || die "MEMSIZE: '$MEMSIZE' is not a size in MiB"
upper FIRMWARE "$FIRMWARE"; oneof FIRMWARE "$FIRMWARE" BIOS UEFI
SECUREBOOT=${SECUREBOOT,,}; oneof SECUREBOOT "$SECUREBOOT" off on
TPM=${TPM,,}; oneof TPM "$TPM" none 2.0

upper CONSOLE "${opt_console:-$DEFAULTCONSOLE}"
if [[ -n $opt_console ]]; then field=--console; else field=DEFAULTCONSOLE; fi
oneof "$field" "$CONSOLE" VNC SDL CLI CLI0 NONE
if [[ -n $opt_vncdisplay ]]; then VNCACCESSDISPLAY=$opt_vncdisplay; fi
if [[ -n $VNCACCESSDISPLAY && ! $VNCACCESSDISPLAY =~ ^[0-9]{1,2}$ ]]; then
	die "VNCACCESSDISPLAY: '$VNCACCESSDISPLAY' is not a display number 0-99"
fi

abspath HDD "$HDDBOOTIMAGE"
[[ $CONF_KIND == ctys ]] && ctys_disk_format
abspath SEED "$SEEDIMAGE"
if [[ -z $HDDBOOTIMAGE_FORMAT ]]; then
	case $HDD in *.qcow2) HDDBOOTIMAGE_FORMAT=qcow2 ;; *) HDDBOOTIMAGE_FORMAT=raw ;; esac
fi

# --- more disks and NICs: HDDBOOTIMAGE1…, NIC1… (lib/hardware.ts) ----------
# Each list runs from 1 while its name is set and not empty. Disk N is
# HDDBOOTIMAGE<N> (+ _FORMAT, _IF, and the options below); NIC N is NIC<N>, its model, with MAC<N>,
# NETMODE<N>, QEMUSOCK<N>, TAPDEV<N> (a ctys MAC1 without NIC1 adds nothing).

# A disk's options, each only where the config sets it (QEMU's defaults
# otherwise, so a config without them starts as before): <DISK>_CACHE,
# _DISCARD (on: the guest's TRIM frees the image's space), _READONLY,
# _BOOTINDEX (the firmware's boot order).
disk_options() { # disk_options OPTS BOOTINDEX VAR IF: the -drive options and the boot index of disk VAR on interface IF
	local v dopts=''
	v=${3}_CACHE
	if [[ -n ${!v:-} ]]; then oneof "$v" "${!v}" writeback none writethrough directsync unsafe; dopts+=",cache=${!v}"; fi
	v=${3}_DISCARD
	if [[ -n ${!v:-} ]]; then oneof "$v" "${!v}" on off; [[ ${!v} == on ]] && dopts+=",discard=unmap"; fi
	v=${3}_READONLY
	if [[ -n ${!v:-} ]]; then oneof "$v" "${!v}" on off; [[ ${!v} == on ]] && dopts+=",readonly=on"; fi
	# QEMU's IDE hard disk refuses a read-only drive ("Block node is read-only") and would not start.
	[[ ${!v:-} == on && $4 == ide ]] && die "$v: an IDE disk cannot be read-only in QEMU (${3}_IF=ide): use virtio or scsi"
	v=${3}_BOOTINDEX
	[[ -z ${!v:-} || ${!v} =~ ^[0-9]{1,2}$ ]] || die "$v: '${!v}' is not a boot index 0-99"
	printf -v "$1" '%s' "$dopts"
	printf -v "$2" '%s' "${!v:-}"
}
disk_options HDD_OPTS HDD_BOOTINDEX HDDBOOTIMAGE "$HDDBOOTIMAGE_IF"

EXTRA_DISKS=() # N FILE FORMAT IF OPTS BOOTINDEX, six words per disk
for ((n = 1; n <= 15; n++)); do
	v=HDDBOOTIMAGE$n; [[ -n ${!v:-} ]] || break
	abspath file "${!v}"
	v=HDDBOOTIMAGE${n}_FORMAT; format=${!v:-}
	if [[ -z $format ]]; then case $file in *.qcow2) format=qcow2 ;; *) format=raw ;; esac; fi
	oneof "$v" "$format" qcow2 raw
	v=HDDBOOTIMAGE${n}_IF; iface=${!v:-virtio}
	oneof "$v" "$iface" virtio ide scsi
	disk_options opts bootindex "HDDBOOTIMAGE$n" "$iface"
	EXTRA_DISKS+=("$n" "$file" "$format" "$iface" "$opts" "$bootindex")
done
# More CD/DVD drives: drive N ≥ 1 is there while CDROM<N>_IF (ide|scsi) is
# set, holding the ISO CDROM<N> (empty: an empty drive). Floppy drives A and
# B hold FDA and FDB (ctys's and QEMU's -fda/-fdb), there while they are set.
EXTRA_CDS=() # N FILE IF, three words per drive
for ((n = 1; n <= 15; n++)); do
	v=CDROM${n}_IF; [[ -n ${!v:-} ]] || break
	iface=${!v}
	oneof "$v" "$iface" ide scsi
	v=CDROM$n; abspath file "${!v:-}"
	EXTRA_CDS+=("$n" "$file" "$iface")
done
abspath FDA_IMAGE "${FDA:-}"; abspath FDB_IMAGE "${FDB:-}"

# vde_switch_ok VAR VALUE: a name of vmdeck net create, or an absolute path
# (ctys-setupVDE's /var/tmp/vde_switch0.USER); a relative one would be
# QEMU's working directory's.
vde_switch_ok() {
	[[ $2 =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ || ( $2 =~ ^/[A-Za-z0-9._/-]*$ && /$2/ != */../* ) ]] ||
		die "$1: '$2' is not a VDE switch: a name of vmdeck net create, or the absolute path of a switch directory"
}

EXTRA_NICS=() # N MODEL MAC NETMODE ENDPOINT, five words per NIC
for ((n = 1; n <= 15; n++)); do
	v=NIC$n; [[ -n ${!v:-} ]] || break
	model=${!v}
	[[ $model =~ ^[A-Za-z0-9_-]+$ ]] || die "$v: '$model' is not a NIC model (like e1000, virtio-net-pci)"
	v=MAC$n; mac=${!v:-}
	[[ -z $mac || $mac =~ ^[0-9a-f]{2}(:[0-9a-f]{2}){5}$ ]] || die "$v: '$mac' is not a MAC address like 52:54:00:12:34:56"
	v=NETMODE$n; mode=${!v:-user}; mode=${mode,,}
	oneof "$v" "$mode" user vde tap none
	endpoint=''
	case $mode in
	vde)
		v=QEMUSOCK$n; endpoint=${!v:-}
		[[ -n $endpoint ]] || die "$v: network mode vde needs a switch (vmdeck net create NAME, then $v=NAME)"
		vde_switch_ok "$v" "$endpoint"
		[[ $endpoint == */* ]] || endpoint=${VMDECK_RUN:-${XDG_RUNTIME_DIR:-/tmp}/vmdeck-$EUID}/net/$endpoint ;;
	tap)
		v=TAPDEV$n; endpoint=${!v:-}
		[[ $endpoint =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "$v: network mode tap needs a TAP interface name" ;;
	esac
	EXTRA_NICS+=("$n" "$model" "$mac" "$mode" "$endpoint")
done

# --- boot mode: the config's default, or what an option asks for ------------

upper BOOTMODE "$DEFAULTBOOTMODE"; BOOTSRC=''
if [[ -n $opt_bootmode ]]; then
	upper BOOTMODE "${opt_bootmode%%\%*}"
	[[ $opt_bootmode == *%* ]] && BOOTSRC=${opt_bootmode#*%}
fi
if [[ -n $opt_kernelmode ]]; then
	BOOTMODE=KERNEL
	KERNELIMAGE=${opt_kernelmode%%\%*}; rest=${opt_kernelmode#*%}
	if [[ $opt_kernelmode == *%* ]]; then
		INITRDIMAGE=${rest%%\%*}
		[[ $rest == *%* ]] && APPEND=${rest#*%}
	fi
fi
INSTALL=''
if [[ -n $opt_instmode ]]; then
	# MODE%SRC%TARGETMODE%TARGET%STAGE; empty fields take the config's values.
	IFS=% read -r im_mode im_src im_tmode im_target _ <<<"$opt_instmode"
	# ctys writes DEFAULT for a field left to the config.
	for field in im_mode im_src im_tmode im_target; do [[ ${!field^^} == DEFAULT ]] && printf -v "$field" '%s' ''; done
	upper BOOTMODE "${im_mode:-$DEFAULTINSTMODE}"
	BOOTSRC=${im_src:-}
	upper im_tmode "${im_tmode:-VHDD}"
	[[ $im_tmode == HDD ]] && im_tmode=VHDD
	oneof "--instmode TARGETMODE" "$im_tmode" VHDD
	[[ -n ${im_target:-} ]] && abspath HDD "$im_target"
	[[ -n $HDD ]] || die "--instmode: there is no install target (HDDBOOTIMAGE is empty)"
	INSTALL=1
fi
if [[ -n $INSTALL ]]; then field=--instmode; elif [[ -n $opt_bootmode ]]; then field=--bootmode; else field=DEFAULTBOOTMODE; fi
# HDD is ctys's name of VHDD.
[[ $BOOTMODE == HDD ]] && BOOTMODE=VHDD
oneof "$field" "$BOOTMODE" VHDD CD DVD PXE FDD USB KERNEL
# The boot modes that take a source (MODE%SOURCE); any other refuses one
# rather than ignore it.
BOOTMODES_WITH_SOURCE=(VHDD CD DVD PXE FDD USB KERNEL)
if [[ -n $BOOTSRC && " ${BOOTMODES_WITH_SOURCE[*]} " != *" $BOOTMODE "* ]]; then
	die "$field: boot mode $BOOTMODE takes no source ('$BOOTSRC'); the modes with one: ${BOOTMODES_WITH_SOURCE[*]}"
fi
[[ -n $INSTALL && $BOOTMODE == VHDD ]] && die "--instmode: VHDD is the install target, not an install source"

CDROM='' FLOPPY='' USBSTICK='' WITH_KERNEL='' PXETREE=''
# PXE's source is a TFTP tree that user networking serves (QEMU's tftp= and
# bootfile=); on a VDE switch or a TAP device the boot server is on that
# network, and PXEROOT is not used.
pxe_source() {
	abspath PXETREE "${BOOTSRC:-$PXEROOT}"
	[[ -n $BOOTSRC && $NETMODE != user ]] &&
		die "--bootmode: PXE%DIR needs network mode user (NETMODE is $NETMODE: its boot server is on that network)"
	[[ $NETMODE == user && -z $PXETREE ]] &&
		die "PXEROOT: boot mode PXE with user networking needs a TFTP tree (PXEROOT or --bootmode=PXE%DIR)"
	[[ $NETMODE == user ]] || PXETREE=''
	[[ $PXEBOOTFILE =~ ^[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*$ && /$PXEBOOTFILE/ != */../* ]] ||
		die "PXEBOOTFILE: '$PXEBOOTFILE' is not a file name inside the PXE tree (like pxelinux.0)"
	return 0
}
case $BOOTMODE in
CD | DVD) abspath CDROM "${BOOTSRC:-$INSTSRCCDROM}"
	[[ -n $CDROM ]] || die "INSTSRCCDROM: boot mode $BOOTMODE needs an ISO image (INSTSRCCDROM or --bootmode=$BOOTMODE%PATH)" ;;
FDD) abspath FLOPPY "${BOOTSRC:-$INSTSRCFDD}"
	[[ -n $FLOPPY ]] || FLOPPY=$FDA_IMAGE
	[[ -n $FLOPPY ]] || die "INSTSRCFDD: boot mode FDD needs a floppy image (INSTSRCFDD, FDA or --bootmode=FDD%PATH)" ;;
USB) abspath USBSTICK "${BOOTSRC:-$INSTSRCUSB}"
	[[ -n $USBSTICK ]] || die "INSTSRCUSB: boot mode USB needs a USB image (INSTSRCUSB or --bootmode=USB%PATH)" ;;
PXE) pxe_source ;;
KERNEL) [[ -n $BOOTSRC ]] && KERNELIMAGE=$BOOTSRC
	[[ -n $KERNELIMAGE ]] || die "KERNELIMAGE: boot mode KERNEL needs a kernel (KERNELIMAGE or --kernelmode=KERNEL%INITRD%APPEND)"
	abspath KERNELIMAGE "$KERNELIMAGE"; abspath INITRDIMAGE "$INITRDIMAGE"
	# An installer booted by its kernel (a preseeded CD install) reads its
	# packages off its CD: the install CD is in the drive, where there is one.
	[[ $CDROM_IF == none ]] || abspath CDROM "$INSTSRCCDROM" ;;
VHDD) [[ -n $BOOTSRC ]] && abspath HDD "$BOOTSRC"
	if [[ $CONF_KIND == ctys && -n $ctys_kernel ]]; then
		# ctys boots the config's kernel, with the disk (if any) attached.
		WITH_KERNEL=1
		abspath KERNELIMAGE "$KERNELIMAGE"; abspath INITRDIMAGE "$INITRDIMAGE"
	else
		[[ -n $HDD ]] || die "HDDBOOTIMAGE: boot mode VHDD needs a disk image"
	fi ;;
esac
# The disks' boot indexes order them for a boot from disk. A device without
# one comes after every device with one (QEMU's bootindex), so in any other
# boot mode they would put the disks before the CD, the network or the floppy
# asked for (and the USB stick's bootindex=0 may be taken): left out then.
if [[ $BOOTMODE != VHDD ]]; then
	HDD_BOOTINDEX=''
	for ((n = 5; n < ${#EXTRA_DISKS[@]}; n += 6)); do EXTRA_DISKS[n]=''; done
fi
# UEFI firmware (OVMF, AAVMF) does not read -boot order (the BIOS's CMOS
# setting): it follows the devices' boot indexes (fw_cfg's bootorder), else
# its own BootOrder variable or the CD/DVD drive first. So under UEFI what
# the boot mode names gets bootindex=0: the first disk (unless the user gave
# the disks boot indexes of their own), the CD/DVD drive.
CD_BOOTINDEX=''
if [[ $FIRMWARE == UEFI ]]; then
	case $BOOTMODE in
	VHDD)
		if [[ -z $WITH_KERNEL && -z $HDD_BOOTINDEX ]]; then
			HDD_BOOTINDEX=0
			for ((n = 5; n < ${#EXTRA_DISKS[@]}; n += 6)); do [[ -n ${EXTRA_DISKS[n]} ]] && HDD_BOOTINDEX=''; done
		fi ;;
	CD | DVD) [[ $CDROM_IF =~ ^(ide|scsi)$ ]] && CD_BOOTINDEX=0 ;;
	esac
fi

# --- what the server refuses, the wrapper refuses too (issue 15) -----------

# A label names files and the runtime directory: a plain label, never a path
# (LABEL='../outside/x' in a config would put them outside VMDECK_RUN).
[[ $LABEL =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]] ||
	die "LABEL: '$LABEL' is not a plain label: use letters, digits, '.', '_' and '-' (at most 63), starting with a letter or digit"
# An option-like interface name would be read by QEMU or ip as an option.
[[ $TAPDEV != -* ]] || die "TAPDEV: '$TAPDEV' is not an interface name (it starts with '-')"
# QEMU and the guest's helpers need nothing of the dashboard's secrets.
unset VMDECK_TOKEN

# private_dir_problem DIR: why DIR is not a private directory of ours (empty when it is).
# A symlink is refused, not followed: another user could point it anywhere.
private_dir_problem() {
	if [[ -L $1 || ! -d $1 ]]; then printf "'%s' is not a directory (a symlink or something else)" "$1"
	elif [[ ! -O $1 ]]; then printf "'%s' is not owned by %s" "$1" "$(id -un)"
	elif [[ $(stat -c %a -- "$1") != 700 ]]; then printf "'%s' must be private (chmod 700 '%s')" "$1" "$1"
	fi
}

# make_private_dir FIELD DIR: DIR made level by level with mode 700 where it
# is missing; each level made, and DIR itself, checked after the mkdir.
make_private_dir() {
	local field=$1 dir=$2 d missing=() problem
	d=$dir
	while [[ ! -e $d && ! -L $d ]]; do
		missing=("$d" "${missing[@]}")
		[[ $d == */* ]] || break
		d=${d%/*}; d=${d:-/}
	done
	for d in "${missing[@]}"; do
		mkdir -m 700 -- "$d" 2>/dev/null || [[ -d $d && ! -L $d ]] || die "$field: cannot create '$d'"
		problem=$(private_dir_problem "$d")
		[[ -z $problem ]] || die "$field: $problem"
	done
	problem=$(private_dir_problem "$dir")
	[[ -z $problem ]] || die "$field: $problem"
}

# --- the runtime directory: sockets, pidfile and logs, private to the user --

RUNROOT=${VMDECK_RUN:-${XDG_RUNTIME_DIR:-/tmp}/vmdeck-$EUID}
[[ -n $opt_rundir || $LABEL != net ]] || die "LABEL: 'net' is reserved for vmdeck's network switches"
RUNDIR=${opt_rundir:-$RUNROOT/$LABEL}
SERIALSOCK=$RUNDIR/serial.sock
if [[ -n $QEMUMONSOCK ]]; then
	# ctys's placeholders: the label, and the wrapper's pid.
	# The replacement is quoted: bash 5.2 would put the match where a label has '&'.
	SERIALSOCK=${QEMUMONSOCK//ACTUALLABEL/"$LABEL"}
	SERIALSOCK=${SERIALSOCK//ACTUALPID/$$}
fi
[[ $NETMODE == vde && -n $QEMUSOCK ]] && vde_switch_ok QEMUSOCK "$QEMUSOCK"
if [[ $NETMODE == vde && -n $QEMUSOCK && $QEMUSOCK != */* ]]; then
	# A bare name is a switch made by `vmdeck net create NAME`.
	QEMUSOCK=$RUNROOT/net/$QEMUSOCK
fi
SUSPENDED=$VMDIR/$LABEL.suspend
# Resuming, the CD/DVD drive holds what it held when the state was saved (a
# medium changed while the VM ran), as vmdeck's suspend wrote it beside it.
# A --bootmode given now wins; an image gone meanwhile leaves the drive empty.
if [[ -f $SUSPENDED && -z $INSTALL && -z $opt_bootmode && -f $SUSPENDED.cd ]]; then
	IFS= read -r CDROM <"$SUSPENDED.cd" || true
	if [[ -n $CDROM && ! -e $CDROM ]]; then
		printf '%s: the CD/DVD image %s, in the drive when the VM was suspended, is gone: resuming with the drive empty\n' "$SELF" "$CDROM" >&2
		CDROM=''
	fi
fi

# --- firmware and TPM: UEFI with the VM's own variables, swtpm per VM ---------
# Debian's ovmf (x86_64; .ms: Microsoft's keys enrolled, Secure Boot on) and
# qemu-efi-aarch64. The firmware's code is shared and read-only; its
# variables (boot entries, keys) are the VM's own, beside its config, a copy
# of the empty store made at the first start (one per Secure Boot setting:
# a store with keys enrolled enforces them). The TPM's state is beside the
# config too (<LABEL>.tpm/); swtpm's control socket is in the runtime dir.
UEFI_CODE='' UEFI_VARS_EMPTY='' UEFI_VARS='' TPMSTATE=$VMDIR/$LABEL.tpm
if [[ $FIRMWARE == UEFI ]]; then
	case $ARCH in
	x86_64)
		sb=''; [[ $SECUREBOOT == on ]] && sb=.ms
		UEFI_CODE=/usr/share/OVMF/OVMF_CODE_4M$sb.fd UEFI_VARS_EMPTY=/usr/share/OVMF/OVMF_VARS_4M$sb.fd
		UEFI_VARS=$VMDIR/$LABEL.uefi-vars$sb.fd ;;
	aarch64)
		UEFI_CODE=/usr/share/AAVMF/AAVMF_CODE.fd UEFI_VARS_EMPTY=/usr/share/AAVMF/AAVMF_VARS.fd
		UEFI_VARS=$VMDIR/$LABEL.uefi-vars.fd ;;
	*) die "FIRMWARE: UEFI is there for x86_64 and aarch64 guests, not $ARCH" ;;
	esac
fi
if [[ $SECUREBOOT == on ]]; then
	[[ $FIRMWARE == UEFI ]] || die "SECUREBOOT: Secure Boot needs UEFI firmware (FIRMWARE=UEFI)"
	[[ $ARCH == x86_64 ]] || die "SECUREBOOT: Secure Boot is there for x86_64 guests (Debian's OVMF), not $ARCH"
	# OVMF's Secure Boot keeps its variables safe in SMM, which only q35 has.
	[[ $MACHINE =~ ^(pc-)?q35(-[0-9.]+)?(,|$) ]] ||
		die "SECUREBOOT: Secure Boot needs machine q35 (OVMF's Secure Boot needs SMM), not '${MACHINE:-pc}' (set MACHINE=q35)"
fi
if [[ $TPM != none ]]; then
	case $ARCH in x86_64 | i386 | aarch64) ;; *) die "TPM: a TPM is there for x86_64, i386 and aarch64 guests, not $ARCH" ;; esac
	# swtpm reads its options split at commas and has no way to write one.
	[[ $RUNDIR != *,* ]] || die "TPM: swtpm cannot take the runtime dir '$RUNDIR' (it has a comma; set VMDECK_RUN or --runtime-dir to a path without one)"
fi

DAEMONIZE=1
case $CONSOLE in CLI | CLI0) DAEMONIZE='' ;; esac
[[ -n $opt_foreground ]] && DAEMONIZE=''

# --- the QEMU command line, one concern per function ------------------------

argv=()
add() { argv+=("$@"); }

add_identity() {
	add "$STARTERCALL"
	# debug-threads: the vCPU threads are named "CPU n/TCG" or "CPU n/KVM", so their CPU can be told apart (the graphs)
	add -name "guest=${LABEL//,/,,},process=vmdeck-${LABEL//,/,,},debug-threads=on"
	[[ -n $UUID ]] && add -uuid "$UUID"
	return 0
}

add_machine() {
	if [[ $SECUREBOOT == on && $MACHINE != *smm=* ]]; then add -machine "$MACHINE,smm=on"
	elif [[ -n $MACHINE ]]; then add -machine "$MACHINE"
	fi
	# KVM when the config asks for it; QEMU means pure emulation (TCG).
	if [[ $ACCELERATOR == KVM ]]; then add -accel kvm; else add -accel tcg; fi
	[[ -n $CPU ]] && add -cpu "$CPU"
	add -smp "$SMP" -m "$MEMSIZE"
}

add_storage() {
	if [[ -n $HDD ]]; then
		if [[ $HDDBOOTIMAGE_IF == none ]]; then
			add -drive "file=${HDD//,/,,},format=$HDDBOOTIMAGE_FORMAT,if=none,id=hd0$HDD_OPTS"
		elif [[ -n $HDD_BOOTINDEX && $HDDBOOTIMAGE_IF =~ ^(virtio|ide|scsi)$ ]]; then
			# A boot index is a device's: the first disk is then built as the others are.
			add_disk 0 "$HDD" "$HDDBOOTIMAGE_FORMAT" "$HDDBOOTIMAGE_IF" "$HDD_OPTS" "$HDD_BOOTINDEX"
		else
			add -drive "file=${HDD//,/,,},format=$HDDBOOTIMAGE_FORMAT,if=$HDDBOOTIMAGE_IF,index=0,media=disk,id=hd0$HDD_OPTS"
		fi
	fi
	# The CD/DVD drive is always there (empty unless booting from it), so a
	# medium can be changed while the VM runs: `vmdeck media LABEL change ISO`.
	if [[ -n $CD_BOOTINDEX ]]; then
		# A boot index is a device's: the drive is built as the other CD/DVD drives are.
		add_cd 0 "$CDROM" "$CDROM_IF" "$CD_BOOTINDEX"
	elif [[ $CDROM_IF != none ]]; then
		if [[ -n $CDROM ]]; then
			add -drive "file=${CDROM//,/,,},format=raw,if=$CDROM_IF,index=2,media=cdrom,readonly=on,id=cd0"
		else
			add -drive "if=$CDROM_IF,index=2,media=cdrom,id=cd0"
		fi
	elif [[ -n $CDROM ]]; then
		die "CDROM_IF: this machine has no CD/DVD drive (CDROM_IF=none)"
	fi
	[[ -n $FLOPPY ]] && add -drive "file=${FLOPPY//,/,,},format=raw,if=floppy,index=0"
	# Floppy A gives way to the one a boot from floppy brings.
	[[ -n $FDA_IMAGE && -z $FLOPPY ]] && add -drive "file=${FDA_IMAGE//,/,,},format=raw,if=floppy,index=0,id=fda"
	[[ -n $FDB_IMAGE ]] && add -drive "file=${FDB_IMAGE//,/,,},format=raw,if=floppy,index=1,id=fdb"
	# The unattended install's seed volume (cidata, OEMDRV): the installer or
	# cloud-init finds it by its label on any drive.
	[[ -n $SEED ]] && add -drive "file=${SEED//,/,,},format=raw,if=virtio,readonly=on,media=disk,id=seed0"
	if [[ -n $USBSTICK ]]; then
		add -device qemu-xhci,id=xhci
		add -drive "file=${USBSTICK//,/,,},format=raw,if=none,id=usbstick"
		add -device usb-storage,bus=xhci.0,drive=usbstick,bootindex=0
	fi
	return 0
}

add_firmware() {
	[[ $FIRMWARE == UEFI ]] || return 0
	add -drive "if=pflash,format=raw,unit=0,file=${UEFI_CODE//,/,,},readonly=on"
	add -drive "if=pflash,format=raw,unit=1,file=${UEFI_VARS//,/,,}"
	# Only code running in SMM may write the variables: what makes Secure Boot hold.
	[[ $SECUREBOOT == on ]] && add -global driver=cfi.pflash01,property=secure,value=on
	return 0
}

# The TPM is swtpm's (started before QEMU, see start_tpm), reached on its control socket.
add_tpm() {
	[[ $TPM == none ]] && return 0
	add -chardev "socket,id=tpmctl,path=${RUNDIR//,/,,}/swtpm.sock"
	add -tpmdev emulator,id=tpm0,chardev=tpmctl
	if [[ $ARCH == aarch64 ]]; then add -device tpm-tis-device,tpmdev=tpm0; else add -device tpm-tis,tpmdev=tpm0; fi
}

add_boot() {
	case $BOOTMODE in
	VHDD) if [[ -n $WITH_KERNEL ]]; then add_kernel; else add -boot order=c; fi ;;
	CD | DVD) add -boot order=d ;;
	PXE) add -boot order=n ;;
	FDD) add -boot order=a ;;
	USB) ;; # bootindex on the stick decides
	KERNEL) add_kernel ;;
	esac
	return 0
}

add_kernel() {
	add -kernel "$KERNELIMAGE"
	[[ -n $INITRDIMAGE ]] && add -initrd "$INITRDIMAGE"
	[[ -n $APPEND ]] && add -append "$APPEND"
	return 0
}

# A TCP/UDP port: 1-65535, no leading zero (read as decimal, never as octal).
port_ok() { [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && (($1 <= 65535)); }
# Empty (QEMU's default) or a dotted IPv4 address of four octets up to 255.
ipv4_ok() {
	[[ -z $1 ]] && return 0
	# No leading zeros: QEMU reads 010 as octal (8).
	local octet='(0|[1-9][0-9]{0,2})'
	[[ $1 =~ ^$octet\.$octet\.$octet\.$octet$ ]] || return 1
	local o
	for o in "${BASH_REMATCH[@]:1}"; do (($o <= 255)) || return 1; done
}

add_network() {
	local nic="model=$NIC${MAC0:+,mac=$MAC0}" rule rules
	case $NETMODE in
	none) add -nic none ;;
	user)
		local fwd=''
		words rules "$HOSTFWD"
		for rule in "${rules[@]}"; do
			# A comma here would smuggle in other netdev options.
			[[ $rule =~ ^(tcp|udp):([0-9.]*):([0-9]+)-([0-9.]*):([0-9]+)$ ]] ||
				die "HOSTFWD: '$rule' is not a rule like tcp:127.0.0.1:2222-:22"
			local host_addr=${BASH_REMATCH[2]} host_port=${BASH_REMATCH[3]} guest_addr=${BASH_REMATCH[4]} guest_port=${BASH_REMATCH[5]}
			port_ok "$host_port" && port_ok "$guest_port" ||
				die "HOSTFWD: '$rule' has a port out of 1-65535"
			ipv4_ok "$host_addr" && ipv4_ok "$guest_addr" ||
				die "HOSTFWD: '$rule' has an address that is not IPv4"
			# Without a host address QEMU would listen on every interface;
			# vmdeck listens on loopback unless the rule names another.
			[[ -z $host_addr ]] && rule=${rule/:/:127.0.0.1}
			fwd+=",hostfwd=$rule"
		done
		# PXE: QEMU's DHCP offers the boot file, its TFTP serves the tree.
		[[ -n $PXETREE ]] && fwd+=",tftp=${PXETREE//,/,,},bootfile=${PXEBOOTFILE//,/,,}"
		add -nic "user,$nic$fwd" ;;
	vde)
		[[ -n $QEMUSOCK ]] || die "QEMUSOCK: network mode vde needs a switch (vmdeck net create NAME, then QEMUSOCK=NAME)"
		add -nic "vde,sock=${QEMUSOCK//,/,,},$nic" ;;
	tap)
		[[ -n $TAPDEV ]] || die "TAPDEV: network mode tap needs a TAP interface name"
		add -nic "tap,ifname=${TAPDEV//,/,,},script=no,downscript=no,$nic" ;;
	esac
}

# IDE slots, numbered as QEMU's if=ide index: the PC's (i440fx) two buses of two units, q35's AHCI
# six buses of one. The first disk (index 0) and CD/DVD drive (index 2) sit where if=ide puts them;
# every other IDE device gets the next free slot's bus and unit (QEMU's own pick put a second one
# on a full bus, and the VM did not start).
IDE_TAKEN=
ide_at() { # ide_at VARIABLE N disk|cd: sets IDE_AT to ",bus=ide.B,unit=U"
	local per=2 slots=4 i
	[[ $MACHINE == *q35* ]] && per=1 slots=6
	if [[ -z $IDE_TAKEN ]]; then
		IDE_TAKEN=' '
		[[ -n $HDD && $HDDBOOTIMAGE_IF == ide ]] && IDE_TAKEN+='0 '
		[[ $CDROM_IF == ide ]] && IDE_TAKEN+='2 '
	fi
	if [[ $2 == 0 ]]; then
		i=0; [[ $3 == cd ]] && i=2
	else
		for ((i = 0; i < slots; i++)); do [[ $IDE_TAKEN == *" $i "* ]] || break; done
		((i < slots)) || die "$1: no IDE slot is left on machine ${MACHINE:-pc} (it has $slots); put this drive on scsi"
		IDE_TAKEN+="$i "
	fi
	IDE_AT=",bus=ide.$((i / per)),unit=$((i % per))"
}

# Disk N: a block node hdN and a device diskN, so that it can be unplugged;
# a virtio disk's serial is diskN too (the guest's /sys/block/vdX/serial,
# /dev/disk/by-id), since the guest's vdX order follows PCI slots, not N.
# q35's PCIe root bus takes no device plugged in or out while the VM runs:
# each extra virtio disk and NIC goes on a root port of its own (hpK, from
# slot 0x18 on, eight to a slot), and HOTPLUG_SPARE more wait for those
# added live (server/devices.ts's hotplugBus takes a free one). PCIE_AT is
# the device's bus, empty on other machines and for the first disk and NIC.
HOTPLUG_SPARE=8 HOTPLUG_PORTS=0 PCIE_AT=''
add_root_port() {
	local k=$HOTPLUG_PORTS addr multi=''
	((k < 32)) || return 1
	HOTPLUG_PORTS=$((k + 1))
	((k % 8)) || multi=,multifunction=on
	printf -v addr '%x.%x' $((0x18 + k / 8)) $((k % 8))
	add -device "pcie-root-port,id=hp$HOTPLUG_PORTS,bus=pcie.0,chassis=$HOTPLUG_PORTS,addr=$addr$multi"
}
pcie_port() { # pcie_port N: PCIE_AT, a root port of its own for extra device N on q35
	PCIE_AT=''
	if [[ $1 != 0 && $MACHINE =~ ^(pc-)?q35 ]] && add_root_port; then PCIE_AT=",bus=hp$HOTPLUG_PORTS"; fi
	return 0
}
add_spare_ports() {
	local i
	if [[ $MACHINE =~ ^(pc-)?q35 ]]; then
		for ((i = 0; i < HOTPLUG_SPARE; i++)); do add_root_port || break; done
	fi
	return 0
}

add_disk() { # add_disk N FILE FORMAT IF OPTS BOOTINDEX
	local boot=${6:+,bootindex=$6}
	add -drive "file=${2//,/,,},format=$3,if=none,id=hd$1$5"
	case $4 in
	virtio) pcie_port "$1"; add -device "virtio-blk-pci,drive=hd$1,id=disk$1,serial=disk$1$boot$PCIE_AT" ;;
	ide) ide_at "HDDBOOTIMAGE$1_IF" "$1" disk; add -device "ide-hd,drive=hd$1,id=disk$1$IDE_AT$boot" ;;
	scsi)
		[[ " ${argv[*]} " == *' virtio-scsi-pci,id=scsi1 '* ]] || add -device virtio-scsi-pci,id=scsi1
		add -device "scsi-hd,drive=hd$1,bus=scsi1.0,id=disk$1$boot" ;;
	esac
}

# CD/DVD drive N: a drive cdN (what QMP's blockdev-change-medium names) and a device cdromN.
add_cd() { # add_cd N FILE IF [BOOTINDEX]
	local boot=${4:+,bootindex=$4}
	if [[ -n $2 ]]; then add -drive "file=${2//,/,,},format=raw,if=none,media=cdrom,readonly=on,id=cd$1"
	else add -drive "if=none,media=cdrom,id=cd$1"
	fi
	case $3 in
	ide) ide_at "CDROM$1_IF" "$1" cd; add -device "ide-cd,drive=cd$1,id=cdrom$1$IDE_AT$boot" ;;
	scsi)
		[[ " ${argv[*]} " == *' virtio-scsi-pci,id=scsi1 '* ]] || add -device virtio-scsi-pci,id=scsi1
		add -device "scsi-cd,drive=cd$1,bus=scsi1.0,id=cdrom$1$boot" ;;
	esac
}

# NIC N: a netdev netN and a device nicN.
add_nic() { # add_nic N MODEL MAC NETMODE ENDPOINT
	case $4 in
	none) return 0 ;;
	user) add -netdev "user,id=net$1" ;;
	vde) add -netdev "vde,id=net$1,sock=${5//,/,,}" ;;
	tap) add -netdev "tap,id=net$1,ifname=$5,script=no,downscript=no" ;;
	esac
	# A USB or ISA NIC is no PCI device: no root port for it.
	PCIE_AT=''
	[[ $2 == usb-* || $2 == *isa* ]] || pcie_port "$1"
	add -device "$2,netdev=net$1,id=nic$1${3:+,mac=$3}$PCIE_AT"
}

add_extra_devices() {
	local i
	for ((i = 0; i < ${#EXTRA_DISKS[@]}; i += 6)); do add_disk "${EXTRA_DISKS[@]:i:6}"; done
	for ((i = 0; i < ${#EXTRA_CDS[@]}; i += 3)); do add_cd "${EXTRA_CDS[@]:i:3}"; done
	for ((i = 0; i < ${#EXTRA_NICS[@]}; i += 5)); do add_nic "${EXTRA_NICS[@]:i:5}"; done
	add_spare_ports
	return 0
}

add_display() {
	[[ -n $VGA ]] && add -vga "$VGA"
	if [[ $CONSOLE == SDL ]]; then add -display sdl; else add -display none; fi
	# The dashboard reaches the screen through a UNIX socket; TCP only on request.
	if [[ $VGA != none ]]; then
		add -vnc "unix:${RUNDIR//,/,,}/vnc.sock"
		[[ -n $VNCACCESSDISPLAY ]] && add -vnc "127.0.0.1:$VNCACCESSDISPLAY,id=vncaccess"
		[[ -n $KBD_LAYOUT ]] && add -k "$KBD_LAYOUT"
		# A shared clipboard: QEMU's own spice-vdagent peer on the port the
		# guest's agent opens, which QEMU's VNC server links to the
		# viewer's clipboard (the extended clipboard messages).
		if [[ $CLIPBOARD == vdagent ]]; then
			add -device virtio-serial,id=vdagentserial
			add -chardev qemu-vdagent,id=vdagent,name=vdagent,clipboard=on,mouse=off
			add -device virtserialport,bus=vdagentserial.0,chardev=vdagent,name=com.redhat.spice.0,id=vdagentport
		fi
	fi
	return 0
}

add_consoles() {
	# serial0 shares its line with an HMP monitor (Ctrl-a c switches), as
	# ctys's -serial mon:unix:$QEMUMONSOCK,server,nowait; everything it prints
	# is also kept in serial.log.
	# Through serial.fifo: the copier at start keeps serial.log under its cap.
	local log="logfile=${RUNDIR//,/,,}/serial.fifo,logappend=on"
	if [[ $CONSOLE == CLI || $CONSOLE == CLI0 ]]; then
		add -chardev "stdio,id=serial0,mux=on,signal=off,$log"
	else
		add -chardev "socket,id=serial0,path=${SERIALSOCK//,/,,},server=on,wait=off,mux=on,$log"
	fi
	add -serial chardev:serial0 -mon chardev=serial0,mode=readline
	add -chardev "socket,id=monitor,path=${RUNDIR//,/,,}/monitor.sock,server=on,wait=off"
	add -mon chardev=monitor,mode=readline
	add -chardev "socket,id=qmp,path=${RUNDIR//,/,,}/qmp.sock,server=on,wait=off"
	add -mon chardev=qmp,mode=control
	# A QMP socket takes one client at a time: vmdeck's event watcher keeps
	# its own, so that qmp.sock stays free for commands.
	add -chardev "socket,id=qmpevents,path=${RUNDIR//,/,,}/qmp-events.sock,server=on,wait=off"
	add -mon chardev=qmpevents,mode=control
}

add_process() {
	add -pidfile "$RUNDIR/qemu.pid" -msg timestamp=on
	# Once daemonized, QEMU's stderr goes to /dev/null, or with -D to that
	# file: its later complaints (a failed resume, "terminating on signal")
	# stay on record. -D empties its file at each start, hence not qemu.log.
	add -D "$RUNDIR/qemu-stderr.log"
	[[ -n $DAEMONIZE ]] && add -daemonize
	# A suspended VM resumes from its saved state; the state file is renamed
	# once read, so the next start boots afresh.
	if [[ -f $SUSPENDED && -z $INSTALL ]]; then
		local from to
		shq from "$SUSPENDED"; shq to "$SUSPENDED.resumed"
		add -incoming "exec:cat $from && mv -f $from $to"
	fi
	add "${ARGSADD[@]}"
}

add_identity
add_machine
add_firmware
add_storage
add_boot
add_network
add_extra_devices
add_tpm
add_display
add_consoles
add_process

# --- --print: the command, for people and for vmdeck -------------------------

print_args() { printf '%s\n' "${argv[@]}"; }
# Plain words stay as they are; anything else is single-quoted.
shword() {
	if [[ $2 =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then printf -v "$1" '%s' "$2"; else shq "$1" "$2"; fi
}
print_shell() {
	local i=0 n=${#argv[@]} line word
	while ((i < n)); do
		shword line "${argv[i]}"; i=$((i + 1))
		# An option and its value share a line.
		if ((i < n)) && [[ ${argv[i - 1]} == -* && ${argv[i]} != -* ]]; then
			shword word "${argv[i]}"; line+=" $word"; i=$((i + 1))
		fi
		if ((i < n)); then printf '%s \\\n' "$line"; else printf '%s\n' "$line"; fi
	done
}

# --- --check: every problem that would stop QEMU, found before it starts -----

need_file() { # need_file FIELD PATH WHAT
	[[ -z $2 ]] && return 0
	[[ -e $2 ]] || die "$1: $3 '$2' does not exist"
	[[ -r $2 ]] || die "$1: $3 '$2' is not readable"
}

# The verdict of vmdeck's KVM probe (vmdeck check), cached in the runtime root
# for this boot and these kvm modules; there is none until vmdeck has probed.
KVM_REFUSAL=''
kvm_probe_refuses() {
	local f=$RUNROOT/kvm-probe k v key='' usable='' boot='' mods='' m
	[[ -f $f && ! -L $f && -O $f ]] || return 1
	while IFS='=' read -r k v; do
		case $k in key) key=$v ;; usable) usable=$v ;; reason) KVM_REFUSAL=$v ;; esac
	done <"$f"
	read -r boot </proc/sys/kernel/random/boot_id || return 1
	# The same key as vmdeck's: the modules in C order.
	local LC_ALL=C
	for m in /sys/module/kvm /sys/module/kvm_*; do [[ -d $m ]] && mods+=${mods:+,}${m##*/}; done
	[[ $key == "$boot $mods" && $usable == no && -n $KVM_REFUSAL ]]
}

# vde_running VAR DIR: the VDE switch at DIR runs. A switch of vmdeck net has
# a pidfile beside its directory: its socket outlives a killed switch, the
# process does not.
vde_running() {
	local vdepid='' vdestat=''
	[[ -r $2.pid ]] && read -r vdepid <"$2.pid"
	[[ $vdepid =~ ^[1-9][0-9]*$ ]] && read -r vdestat 2>/dev/null <"/proc/$vdepid/stat"
	if ! [[ -S $2/ctl || -S $2 ]] ||
		[[ -e $2.pid && ( -z $vdestat || ${vdestat##*) } == Z* ) ]]; then
		if [[ $CONF_KIND == ctys && $2 != "$RUNROOT/net/"* ]]; then
			die "$1: VDE switch '$2' is not running (ctys-setupVDE made it; start one with vmdeck net create NAME and set $1=NAME, or NIC= for none)"
		fi
		die "$1: VDE switch '$2' is not running (start it: vmdeck net create ${2##*/})"
	fi
	# ctys's default lies in the world-writable /var/tmp: a switch another
	# user made there first would carry, and let them see, the VM's traffic.
	if ! [[ -O $2 ]]; then
		local owner; owner=$(stat -c %u:%U -- "$2" 2>/dev/null) || owner=
		[[ ${owner%%:*} == 0 ]] ||
			die "$1: VDE switch '$2' belongs to another user (${owner#*:}), who sees and can change the VM's traffic: use a switch of your own (vmdeck net create NAME, then $1=NAME)"
	fi
}

check_all() {
	command -v -- "$STARTERCALL" >/dev/null 2>&1 ||
		die "STARTERCALL: QEMU binary '$STARTERCALL' not found (install Debian's qemu-system package for $ARCH)"
	if [[ $ACCELERATOR == KVM ]]; then
		[[ -r /dev/kvm && -w /dev/kvm ]] ||
			die "ACCELERATOR: KVM needs read/write access to /dev/kvm (set ACCELERATOR=QEMU for emulation)"
		# KVM runs the host's own architecture (and i386 on x86_64) only.
		local host; host=$(uname -m)
		[[ $ARCH == "$host" || ( $host == x86_64 && $ARCH == i386 ) ]] ||
			die "ACCELERATOR: KVM cannot run $ARCH guests on this $host host (set ACCELERATOR=QEMU for emulation)"
		# /dev/kvm may open and still hang every ordinary guest (kvm_pvm,
		# broken nested virtualization): vmdeck's probe says so.
		kvm_probe_refuses && die "ACCELERATOR: KVM does not run guests on this host: $KVM_REFUSAL (set ACCELERATOR=QEMU for emulation)"
	fi
	if [[ -n $HDD && -n ${DISK_NOBUS:-} ]]; then
		die "HDDBOOTIMAGE: machine ${MACHINE:-(default)} of $STARTERCALL has no bus a disk can go on (QEMU lists: $BUSES); empty HDDBOOTIMAGE to boot the kernel alone"
	fi
	if [[ -n $HDD && -d $HDD ]]; then
		die "HDDBOOTIMAGE: '$HDD' is a directory, not a disk image"
	fi
	if [[ -n $HDD ]]; then
		[[ -e $HDD ]] || die "HDDBOOTIMAGE: disk image '$HDD' does not exist (create it: qemu-img create -f $HDDBOOTIMAGE_FORMAT '$HDD' ${HDDBOOTIMAGE_INST_SIZE:-8G})"
		if [[ $HDD_OPTS == *readonly=on* ]]; then
			[[ -r $HDD ]] || die "HDDBOOTIMAGE: disk image '$HDD' is not readable"
		else
			[[ -r $HDD && -w $HDD ]] || die "HDDBOOTIMAGE: disk image '$HDD' is not readable and writable"
		fi
	fi
	local k
	for ((k = 0; k < ${#EXTRA_DISKS[@]}; k += 6)); do
		if [[ ${EXTRA_DISKS[k + 4]} == *readonly=on* ]]; then
			[[ -r ${EXTRA_DISKS[k + 1]} ]] ||
				die "HDDBOOTIMAGE${EXTRA_DISKS[k]}: disk image '${EXTRA_DISKS[k + 1]}' does not exist or is not readable"
		else
			[[ -r ${EXTRA_DISKS[k + 1]} && -w ${EXTRA_DISKS[k + 1]} ]] ||
				die "HDDBOOTIMAGE${EXTRA_DISKS[k]}: disk image '${EXTRA_DISKS[k + 1]}' does not exist or is not readable and writable"
		fi
	done
	need_file INSTSRCCDROM "$CDROM" "ISO image"
	need_file INSTSRCFDD "$FLOPPY" "floppy image"
	need_file FDA "$FDA_IMAGE" "floppy image"
	need_file FDB "$FDB_IMAGE" "floppy image"
	for ((k = 0; k < ${#EXTRA_CDS[@]}; k += 3)); do need_file "CDROM${EXTRA_CDS[k]}" "${EXTRA_CDS[k + 1]}" "ISO image"; done
	need_file INSTSRCUSB "$USBSTICK" "USB image"
	need_file SEEDIMAGE "$SEED" "seed volume"
	if [[ $FIRMWARE == UEFI ]]; then
		local pkg=ovmf; [[ $ARCH == aarch64 ]] && pkg=qemu-efi-aarch64
		[[ -r $UEFI_CODE ]] || die "FIRMWARE: UEFI firmware '$UEFI_CODE' is not installed (apt-get install $pkg)"
		if [[ -e $UEFI_VARS || -L $UEFI_VARS ]]; then
			[[ -f $UEFI_VARS && -r $UEFI_VARS && -w $UEFI_VARS ]] || die "FIRMWARE: UEFI variables '$UEFI_VARS' are not a readable and writable file"
		else
			[[ -r $UEFI_VARS_EMPTY ]] || die "FIRMWARE: UEFI variables template '$UEFI_VARS_EMPTY' is not installed (apt-get install $pkg)"
		fi
	fi
	if [[ $TPM != none ]]; then
		command -v swtpm >/dev/null 2>&1 || die "TPM: swtpm is not installed (apt-get install swtpm)"
		if [[ -e $TPMSTATE || -L $TPMSTATE ]]; then
			[[ -d $TPMSTATE && ! -L $TPMSTATE && -O $TPMSTATE ]] || die "TPM: TPM state '$TPMSTATE' is not a directory of $(id -un)"
		fi
	fi
	if [[ -n $PXETREE ]]; then
		[[ -d $PXETREE ]] || die "PXEROOT: PXE tree '$PXETREE' is not a directory"
		[[ -f $PXETREE/$PXEBOOTFILE && -r $PXETREE/$PXEBOOTFILE ]] ||
			die "PXEROOT: PXE tree '$PXETREE' has no boot file '$PXEBOOTFILE' (PXEBOOTFILE)"
	fi
	if [[ $BOOTMODE == KERNEL || -n $WITH_KERNEL ]]; then
		need_file KERNELIMAGE "$KERNELIMAGE" kernel
		need_file INITRDIMAGE "$INITRDIMAGE" initrd
	fi
	[[ $NETMODE == vde ]] && vde_running QEMUSOCK "$QEMUSOCK"
	local i
	for ((i = 0; i < ${#EXTRA_NICS[@]}; i += 5)); do
		[[ ${EXTRA_NICS[i + 3]} == vde ]] && vde_running "QEMUSOCK${EXTRA_NICS[i]}" "${EXTRA_NICS[i + 4]}"
	done
	# QEMU lists the NIC models a machine takes; a wrong one would only show
	# at start, as "Unsupported NIC model".
	if [[ $NETMODE != none ]]; then
		local probe=("$STARTERCALL") models
		[[ -n $MACHINE ]] && probe+=(-machine "$MACHINE")
		models=$("${probe[@]}" -nic model=help 2>/dev/null) || models=''
		if [[ $models == *'Supported NIC models:'* ]]; then
			models=$(printf '%s' "${models#*Supported NIC models:}" | tr -s ' \n' ' ')
			models=${models% }
			[[ " $models " == *" $NIC "* ]] ||
				die "NIC: '$NIC' is not a NIC model of machine ${MACHINE:-(default)} (it takes:$models)"
		fi
	fi
	if [[ $NETMODE == tap && ! -e /sys/class/net/$TAPDEV ]]; then
		die "TAPDEV: TAP interface '$TAPDEV' does not exist"
	fi
	# sun_path holds 108 bytes including the terminating NUL.
	local sock
	for sock in "$RUNDIR/qmp.sock" "$RUNDIR/monitor.sock" "$SERIALSOCK"; do
		((${#sock} < 108)) || die "runtime dir: socket path '$sock' is longer than 107 bytes (set VMDECK_RUN or --runtime-dir to a shorter path)"
	done
	# Every one of them that exists: the root, the VM's directory, the serial socket's.
	local d problem
	for d in "$RUNROOT" "$RUNDIR"; do
		if [[ -e $d || -L $d ]]; then
			problem=$(private_dir_problem "$d")
			[[ -z $problem ]] || die "runtime dir: $problem"
		fi
	done
	d=${SERIALSOCK%/*}
	if [[ $d != "$RUNDIR" ]] && [[ -e $d || -L $d ]]; then
		problem=$(private_dir_problem "$d")
		[[ -z $problem ]] || die "QEMUMONSOCK: $problem"
	fi
	# Where it does not exist yet, its nearest existing parent must let us make it.
	d=$RUNDIR
	while [[ ! -e $d ]]; do
		if [[ $d == */* ]]; then d=${d%/*}; d=${d:-/}; else d=.; fi
	done
	[[ -d $d && -w $d ]] || die "runtime dir: cannot create '$RUNDIR' ('$d' is not a writable directory)"
	if [[ -n $KBD_LAYOUT && $VGA != none ]]; then
		# QEMU reads keymaps from its data directory; a wrong name only shows at start.
		local keymaps
		for keymaps in /usr/share/qemu/keymaps /usr/local/share/qemu/keymaps; do
			[[ -d $keymaps ]] || continue
			[[ -e $keymaps/$KBD_LAYOUT ]] || die "KBD_LAYOUT: '$KBD_LAYOUT' is not a QEMU keymap (see $keymaps)"
			break
		done
	fi
	return 0
}

if [[ -n $opt_print ]]; then
	if [[ $opt_print == shell ]]; then print_shell; else print_args; fi
fi
if [[ -n $opt_check ]]; then
	check_all
	printf '%s: check passed for %s\n' "$SELF" "$LABEL" >&2
fi
[[ -n $opt_print || -n $opt_check ]] && exit 0

# --- start ------------------------------------------------------------------

# stop_tpm: ends this VM's swtpm if it still runs (only a swtpm on this
# runtime dir's socket: a stale pidfile's number may be anyone's by now).
stop_tpm() {
	local pid='' cmd=''
	[[ -r $RUNDIR/swtpm.pid ]] && read -r pid <"$RUNDIR/swtpm.pid"
	if [[ $pid =~ ^[1-9][0-9]*$ && -r /proc/$pid/cmdline ]]; then
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || cmd=''
		[[ $cmd == swtpm\ * && $cmd == *"path=$RUNDIR/swtpm.sock"* ]] && kill -- "$pid" 2>/dev/null
	fi
	rm -f -- "$RUNDIR/swtpm.pid" "$RUNDIR/swtpm.sock"
	return 0
}
# start_tpm: swtpm for this run, ended with QEMU whatever way QEMU ends:
# --terminate ends it when QEMU's connection closes (an exit, a crash, a
# kill -9), and a watcher, not holding the lock, ends it once the lock is
# free (QEMU never connected: a start that failed).
start_tpm() {
	[[ $TPM == none ]] && return 0
	make_private_dir TPM "$TPMSTATE"
	local sock=$RUNDIR/swtpm.sock i
	TPM_PATH=$TPMSTATE swtpm socket --tpm2 --ctrl "type=unixio,path=$sock,mode=0600" \
		--pid "file=$RUNDIR/swtpm.pid" --log "file=$RUNDIR/swtpm.log" --terminate --daemon \
		</dev/null >>"$RUNDIR/qemu.log" 2>&1 || die "TPM: swtpm did not start (log: $RUNDIR/swtpm.log)"
	for ((i = 0; i < 50; i++)); do [[ -S $sock ]] && break; sleep 0.1; done
	[[ -S $sock ]] || { stop_tpm; die "TPM: swtpm made no socket (log: $RUNDIR/swtpm.log)"; }
	( exec {lockfd}>&-; flock -s "$RUNDIR/lock" true; stop_tpm ) </dev/null >/dev/null 2>&1 &
}

check_all
make_private_dir 'runtime dir' "$RUNROOT"
make_private_dir 'runtime dir' "$RUNDIR"
# QEMUMONSOCK elsewhere: its directory holds a monitor, so it is as private as the runtime dir.
[[ $SERIALSOCK == "$RUNDIR/serial.sock" ]] || make_private_dir QEMUMONSOCK "${SERIALSOCK%/*}"

# The lock is inherited by QEMU and held for as long as it runs: a second
# start of the same VM is refused however it was started.
exec {lockfd}>>"$RUNDIR/lock" || die "runtime dir: cannot open '$RUNDIR/lock'"
if ! flock -n "$lockfd"; then
	DIE_CODE=3 die "VM '$LABEL' is already running (pid $(cat "$RUNDIR/qemu.pid" 2>/dev/null || echo '?'))"
fi
# Leftovers of a crashed run; nobody can be using them while we hold the lock.
rm -f -- "$RUNDIR/qemu.pid" "$RUNDIR/qmp.sock" "$RUNDIR/qmp-events.sock" "$RUNDIR/monitor.sock" "$RUNDIR/vnc.sock" \
	"$RUNDIR/serial.sock" "$RUNDIR/exit" "$SERIALSOCK" "$RUNDIR/serial.owner" "$RUNDIR/monitor.owner" "$RUNDIR/progress"
stop_tpm
[[ $SERIALSOCK == "$RUNDIR/serial.sock" ]] || ln -s -- "$SERIALSOCK" "$RUNDIR/serial.sock"
# serial.log gathers every run's serial output: past 4 MiB the earlier runs
# move to serial.log.1 (replacing the one before), so it does not grow forever.
if [[ -f $RUNDIR/serial.log ]] && (($(stat -c %s -- "$RUNDIR/serial.log") > 4194304)); then
	mv -f -- "$RUNDIR/serial.log" "$RUNDIR/serial.log.1"
fi
# What this run prints on serial comes after serial.log's size now: vmdeck
# tells a guest that printed nothing since its start (see `vmdeck list`).
stat -c %s -- "$RUNDIR/serial.log" >"$RUNDIR/serial.start" 2>/dev/null || echo 0 >"$RUNDIR/serial.start"
# serial.log stays under its cap while the VM runs (issue 15), however fast
# the guest prints: QEMU logs serial0 into serial.fifo, and a small copier,
# detached like QEMU, appends it to serial.log, moving serial.log to
# serial.log.1 whenever it reaches the cap. The newest output is always
# kept; the copier ends when QEMU closes the FIFO (QEMU exits).
SERIAL_LOG_CAP=${VMDECK_SERIAL_LOG_CAP:-4194304}
[[ $SERIAL_LOG_CAP =~ ^[1-9][0-9]*$ ]] || die "VMDECK_SERIAL_LOG_CAP: '$SERIAL_LOG_CAP' is not a number of bytes"
serial_log_copier() { # serial_log_copier FIFO LOG CAP
	local fifo=$1 log=$2 cap=$3 size after
	exec 3<"$fifo" || return 0
	while :; do
		size=$(stat -c %s -- "$log" 2>/dev/null || echo 0)
		if ((size >= cap)); then mv -f -- "$log" "$log.1"; size=0; fi
		# dd writes each read as it comes (head would wait to fill its buffer), and stops at the cap.
		dd bs=65536 count=$((cap - size)) iflag=count_bytes oflag=append conv=notrunc status=none <&3 >>"$log"
		after=$(stat -c %s -- "$log" 2>/dev/null || echo 0)
		((after > size)) || return 0
	done
}
rm -f -- "$RUNDIR/serial.fifo"
mkfifo -m 600 -- "$RUNDIR/serial.fifo" || die "runtime dir: cannot make '$RUNDIR/serial.fifo'"
# Not holding the VM's lock, nor the wrapper's terminal.
( exec {lockfd}>&-; serial_log_copier "$RUNDIR/serial.fifo" "$RUNDIR/serial.log" "$SERIAL_LOG_CAP" ) </dev/null >/dev/null 2>&1 &
# Whatever happens to QEMU, the copier is not left waiting for a writer: an open and
# close of the FIFO read-write ends its wait (QEMU, when it runs, holds the FIFO itself).
trap 'exec 4<>"$RUNDIR/serial.fifo" && exec 4>&-' EXIT
# Which VM this runtime dir belongs to, so `vmdeck list` can find its files.
printf '%s\n' "$CONF" >"$RUNDIR/config"
printf '%s\n' "$CONSOLE" >"$RUNDIR/console"
printf '%s starting %s\n' "$(date '+%F %T')" "$LABEL" >>"$RUNDIR/qemu.log"
logstart=$(stat -c %s -- "$RUNDIR/qemu.log")
: >"$RUNDIR/qemu-stderr.log"
if [[ $FIRMWARE == UEFI && ! -e $UEFI_VARS ]]; then
	install -m 600 -- "$UEFI_VARS_EMPTY" "$UEFI_VARS.part" && mv -f -- "$UEFI_VARS.part" "$UEFI_VARS" ||
		die "FIRMWARE: cannot make the UEFI variables '$UEFI_VARS'"
fi
# QEMU's and swtpm's sockets (monitor, QMP, serial, VNC, the TPM's) and what they write are the
# user's only, whatever umask the wrapper was started with. A daemonizing QEMU sets its own (027)
# before it makes its sockets: those are made private once it has started.
umask 077
start_tpm

if [[ -n $DAEMONIZE ]]; then
	if ! "${argv[@]}" 2>>"$RUNDIR/qemu.log" </dev/null; then
		# QEMU's complaint: what this start logged (the log keeps earlier runs),
		# and its -D file, where it writes once it has set that up.
		{ tail -c +$((logstart + 1)) -- "$RUNDIR/qemu.log"; cat -- "$RUNDIR/qemu-stderr.log" 2>/dev/null; } |
			grep -v -e 'module ui-ui' -e ' starting ' | tail -n 3 >&2
		# Nothing of the failed start stays behind to look like a VM.
		rm -f -- "$RUNDIR/qemu.pid" "$RUNDIR/qmp.sock" "$RUNDIR/qmp-events.sock" "$RUNDIR/monitor.sock" \
			"$RUNDIR/vnc.sock" "$RUNDIR/serial.sock" "$SERIALSOCK"
		stop_tpm
		die "QEMU did not start (logs: $RUNDIR/qemu.log, $RUNDIR/qemu-stderr.log)"
	fi
	for sock in "$RUNDIR"/*.sock "$SERIALSOCK"; do
		[[ -S $sock ]] && chmod go= -- "$sock"
	done
	exit 0
fi
exec "${argv[@]}"
