"""Self-confinement of a worker for the `process` backend (where nsjail cannot start).

Applied by the worker to itself before it reads any job; every child inherits it. Each step is tried and
reported only if it took effect, so the backend never claims a protection it does not have.
Stdlib-only (ctypes for prctl/unshare), because it runs inside the worker's interpreter.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import struct

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_NEWNET = 0x40000000
AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_KILL_PROCESS = 0x80000000
EPERM = 1

# The syscalls the seccomp filter refuses with EPERM (x86_64 numbers): networking, tracing, mounts,
# namespaces, kernel loading and other host-level operations no task needs.
DENIED_SYSCALLS_X86_64 = {
    "socket": 41,
    "connect": 42,
    "accept": 43,
    "bind": 49,
    "listen": 50,
    "socketpair": 53,
    "accept4": 288,
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "init_module": 175,
    "delete_module": 176,
    "finit_module": 313,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "bpf": 321,
    "unshare": 272,
    "setns": 308,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "perf_event_open": 298,
    "userfaultfd": 323,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "io_uring_setup": 425,
}


def apply(settings: dict) -> list[str]:
    """Confines the current process as `settings` asks; returns the names of the protections now active."""
    libc = ctypes.CDLL(None, use_errno=True)
    applied = []
    if os.geteuid() == 0 and libc.unshare(CLONE_NEWNET) == 0:
        applied.append("network namespace (no interfaces up)")
    limits = settings["limits"]
    for name, value in (
        ("RLIMIT_NOFILE", limits["open_files"]),
        ("RLIMIT_FSIZE", limits["file_size_mb"] * 2**20),
        ("RLIMIT_NPROC", limits["max_processes"]),
        ("RLIMIT_CORE", 0),
    ):
        resource.setrlimit(getattr(resource, name), (value, value))
    applied.append("rlimits: nofile, fsize, nproc, core (address space and CPU per job)")
    if os.geteuid() == 0:
        uid = settings["uid"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        applied.append(f"unprivileged uid {uid}")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0:
        applied.append("no_new_privs")
        if platform.machine() == "x86_64" and install_seccomp(libc):
            applied.append("seccomp: " + ", ".join(sorted(DENIED_SYSCALLS_X86_64)) + " denied")
    return applied


def install_seccomp(libc: ctypes.CDLL) -> bool:
    """Installs a BPF filter: EPERM for DENIED_SYSCALLS_X86_64 and the x32 ABI, kill for other arches."""

    def stmt(code: int, k: int) -> bytes:
        return struct.pack("HBBI", code, 0, 0, k)

    def jump(code: int, k: int, true: int, false: int) -> bytes:
        return struct.pack("HBBI", code, true, false, k)

    ld_w_abs, jeq_k, jge_k, ret_k = 0x20, 0x15, 0x35, 0x06
    numbers = sorted(DENIED_SYSCALLS_X86_64.values())
    program = [
        stmt(ld_w_abs, 4),  # seccomp_data.arch
        jump(jeq_k, AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret_k, SECCOMP_RET_KILL_PROCESS),
        stmt(ld_w_abs, 0),  # seccomp_data.nr
        jump(jge_k, 0x40000000, len(numbers) + 1, 0),  # x32 syscalls -> deny
    ]
    for i, number in enumerate(numbers):
        program.append(jump(jeq_k, number, len(numbers) - i, 0))
    program += [stmt(ret_k, SECCOMP_RET_ALLOW), stmt(ret_k, SECCOMP_RET_ERRNO | EPERM)]
    filters = ctypes.create_string_buffer(b"".join(program))
    fprog = struct.pack("HxxxxxxQ", len(program), ctypes.addressof(filters))
    fprog_buffer = ctypes.create_string_buffer(fprog)
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog_buffer, 0, 0) == 0
