/* fwenv's boot-check payload: proves coreboot hands over to a payload built in the
 * environment. coreboot enters an ELF payload in 32-bit flat protected mode; this writes a
 * marker to COM1 and leaves QEMU through its isa-debug-exit device (port 0xf4: QEMU exits
 * with status (0x10 << 1) | 1 = 33), so the boot check ends without a timeout. */
	.code32
	.section .text
	.globl _start
_start:
	cli
	mov	$msg, %esi
	mov	$0x3f8, %dx		/* COM1 data register (QEMU's UART needs no polling) */
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	mov	$0xf4, %dx		/* isa-debug-exit */
	mov	$0x10, %al
	out	%al, %dx
3:	hlt				/* real hardware: stop here */
	jmp	3b

	.section .rodata
msg:	.asciz	"\r\nFWENV-PAYLOAD-OK\r\n"
