# ctys_env DIR WRAPPER_NAME: the variables ctys's own wrapper (its
# template.QEMU.sh, with the ctys framework loaded) has set when it sources a
# config, so that a ctys-made config reads the same here: every one of them
# says HDDBOOTIMAGE="${CTYSWRAPPERPATH}/hda.img", and some test MYDIST or
# pick QEMUBASE/QEMUKVM. Set from bash's own variables: no process is run.
ctys_env() {
	CTYSWRAPPERPATH=$1
	CTYSWRAPPER=$1/$2
	MYCALLNAME=$2
	MYCALLPATH=$1
	MYCALLPATHNAME=$1/$2
	MYLANG=${MYLANG:-en}
	MYHOST=${HOSTNAME%%.*}
	MYUID=${USER:-${LOGNAME:-}}
	MYARCH=${HOSTTYPE:-}
	case ${OSTYPE:-} in
	linux*) MYOS=Linux ;; freebsd*) MYOS=FreeBSD ;; openbsd*) MYOS=OpenBSD ;; solaris*) MYOS=SunOS ;; *) MYOS=${OSTYPE:-} ;;
	esac
	# ctys names distributions as its systools.conf-<DIST>.sh files do.
	MYDIST='' MYREL=''
	if [[ -r /etc/os-release ]]; then
		local key value
		while IFS='=' read -r key value; do
			value=${value#[\"\']}; value=${value%[\"\']}
			case $key in ID) MYDIST=$value ;; VERSION_ID) MYREL=$value ;; esac
		done </etc/os-release
		case $MYDIST in
		ubuntu) MYDIST=Ubuntu ;; centos) MYDIST=CentOS ;; fedora) MYDIST=Fedora ;;
		opensuse*) MYDIST=openSUSE ;; rhel) MYDIST=RHEL ;; scientific) MYDIST=Scientific ;;
		esac
	fi
	# ctys's qemu.conf-Linux.sh: the emulator for this host, and the KVM one.
	[[ -n ${QEMUBASE:-} ]] || ctys_which QEMUBASE "qemu-system-$MYARCH"
	[[ -n ${QEMUKVM:-} ]] || ctys_which QEMUKVM qemu-kvm kvm
	return 0
}

# ctys_which VAR NAME...: the first NAME on PATH, as `type -P` without a subshell.
ctys_which() {
	local var=$1 name dir dirs
	shift
	IFS=: read -r -a dirs <<<"${PATH:-}"
	for name; do
		for dir in "${dirs[@]}"; do
			[[ -x $dir/$name && ! -d $dir/$name ]] && { printf -v "$var" '%s' "$dir/$name"; return 0; }
		done
	done
	printf -v "$var" '%s' ''
}
