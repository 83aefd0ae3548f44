// Logging trampolines for the slots of the driver's private tables (trace.cc). Stub i is 16
// bytes long at gv_trace_stubs + 16 * i: it loads i and enters the common path, which saves the
// argument registers, asks gv_trace_enter (C) for the real function (it also records the
// arguments and the caller's return address on a per-thread stack), calls it with the same
// registers and the same stack (the return address is taken off first, so arguments passed on
// the stack sit where the callee expects them), then passes its result to gv_trace_leave, which
// logs it and gives back the caller's return address.
	.text
	.globl gv_trace_stubs
	.hidden gv_trace_stubs
	.hidden gv_trace_enter
	.hidden gv_trace_leave
	.balign 16
gv_trace_stubs:
	.set i, 0
	.rept 2048
	.balign 16
	movl $i, %r11d
	jmp gv_trace_common
	.set i, i + 1
	.endr

	.balign 16
gv_trace_common:
	// entry: rsp = 8 mod 16 (return address on top); 7 pushes make it 0 mod 16
	push %rdi
	push %rsi
	push %rdx
	push %rcx
	push %r8
	push %r9
	push %rax
	mov %r11, %rdi          // stub index
	mov 56(%rsp), %rsi      // caller's return address
	mov %rsp, %rdx          // saved registers: rax r9 r8 rcx rdx rsi rdi
	call gv_trace_enter     // -> the real function
	mov %rax, %r11
	pop %rax
	pop %r9
	pop %r8
	pop %rcx
	pop %rdx
	pop %rsi
	pop %rdi
	add $8, %rsp            // the return address is kept by gv_trace_enter
	call *%r11
	push %rax               // rsp was 0 mod 16 before the call; two pushes keep it so
	push %rdx
	mov %rax, %rdi
	call gv_trace_leave     // -> the caller's return address
	mov %rax, %r11
	pop %rdx
	pop %rax
	push %r11
	ret
	.section .note.GNU-stack,"",@progbits
