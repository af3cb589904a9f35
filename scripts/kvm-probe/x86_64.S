# vmdeck's KVM probe for x86_64 hosts: a 64 KiB firmware image (QEMU -bios,
# so no BIOS runs before it: the CPU starts here at its reset vector) that does what an OS
# kernel does first on x86_64 (real mode -> protected mode -> paging -> long
# mode, an IDT, a trap and a page fault it handles by mapping the page), and
# marks each stage on COM1 (R, P, L, I, F). Then it prints a line and ends QEMU
# through isa-debug-exit with
# 0x31 (QEMU's exit status 99); a wrong memory read ends it with 0x10 (33).
# A host whose /dev/kvm opens but cannot run ordinary guests (kvm_pvm, broken
# nested virtualization) never gets here: the probe times out.
# Assembled by scripts/gen-kvm-probe.mjs (GNU as) into lib/kvm-probe-image.ts.
	.set idt, 0x6000         # the IDT, past the page tables
	.set pf_count, 0x7000    # page faults taken (RAM: the image is ROM)
	.code16
	.globl _start
_start:                         # linear 0xf0000, entered as f000:0000
	cli
	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x7c00, %sp
	movw $0x3f8, %dx        # stage marks on COM1: R real mode, P protected mode, L long mode
	movb $'R', %al
	outb %al, %dx
	inb $0x92, %al          # fast A20
	orb $2, %al
	andb $0xfe, %al
	outb %al, $0x92
	lgdtl %cs:(gdtr - _start)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $pm32
	.code32
pm32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $0x7c00, %esp
	movw $0x3f8, %dx
	movb $'P', %al
	outb %al, %dx
	movl $0x1000, %edi      # page tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD); IDT at 0x6000
	xorl %eax, %eax
	movl $0x1840, %ecx      # up to 0x7100 (pf_count included); the stack lies above
	rep stosl
	movl $0x2003, 0x1000
	movl $0x3003, 0x2000
	movl $0x3000, %edi      # 512 2-MiB pages: the first GiB identity-mapped
	movl $0x83, %eax
	movl $512, %ecx
1:	movl %eax, (%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 1b
	movl $0, 0x3040         # 16-18 MiB left unmapped: the page fault handler maps it
	movl %cr4, %eax
	orl $0x20, %eax         # PAE
	movl %eax, %cr4
	movl $0x1000, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx  # EFER.LME
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax   # paging on: long mode
	movl %eax, %cr0
	ljmpl $0x18, $lm64
	.code64
lm64:
	movw $0x3f8, %dx
	movb $'L', %al
	outb %al, %dx
	# An IDT, as a kernel sets one up before it takes its first exception:
	# int3 (a trap it returns from) and a page fault it handles by mapping
	# the page (the x86_64 Linux decompressor maps memory so, on demand).
	leaq bp_handler(%rip), %rax
	movq $idt + 3 * 16, %rdi
	call set_gate
	leaq pf_handler(%rip), %rax
	movq $idt + 14 * 16, %rdi
	call set_gate
	lidt idtr(%rip)
	int3
	movw $0x3f8, %dx
	movb $'I', %al
	outb %al, %dx
	movq $0x5a5aa5a5deadbeef, %rax
	movq $0x1000000, %rdi   # 16 MiB: faults once, then mapped
	movq %rax, (%rdi)
	cmpq (%rdi), %rax
	jne fail
	cmpb $1, pf_count
	jne fail
	movw $0x3f8, %dx
	movb $'F', %al
	outb %al, %dx
	leaq msg(%rip), %rsi
	movw $0x3f8, %dx
2:	lodsb
	testb %al, %al
	jz 3f
	outb %al, %dx
	jmp 2b
3:	movb $0x31, %al
	outb %al, $0xf4
	jmp halt
fail:
	movb $0x10, %al
	outb %al, $0xf4
halt:
	hlt
	jmp halt
set_gate:                       # a 64-bit interrupt gate for handler %rax at %rdi
	movw %ax, (%rdi)
	movw $0x18, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shrq $16, %rax
	movw %ax, 6(%rdi)
	shrq $16, %rax
	movl %eax, 8(%rdi)
	movl $0, 12(%rdi)
	ret
bp_handler:
	iretq
pf_handler:                     # map 16-18 MiB, then return to retry the access
	movl $0x1000083, 0x3040
	incb pf_count
	addq $8, %rsp           # the error code
	iretq
msg:	.asciz "vmdeck-kvm-probe: long mode\n"
	.p2align 3
gdt:	.quad 0
	.quad 0x00cf9a000000ffff   # 0x08 32-bit code
	.quad 0x00cf92000000ffff   # 0x10 data
	.quad 0x00af9a000000ffff   # 0x18 64-bit code
gdtr:	.word gdtr - gdt - 1
	.long gdt
idtr:	.word 16 * 16 - 1
	.quad idt

	.org 0xfff0              # the reset vector: f000:fff0
	.code16
	ljmp $0xf000, $0
	.org 0x10000
