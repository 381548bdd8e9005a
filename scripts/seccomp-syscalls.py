#!/usr/bin/env python3
"""Turn strace logs of vrrpd into config/seccomp.json (Docker's format).

    scripts/seccomp-syscalls.py TRACE... > config/seccomp.json
    scripts/seccomp-syscalls.py --systemd config/seccomp.json   # the unit's line

TRACE files come from `strace -f -qq -e raw='!execve' -o FILE` (see
scripts/seccomp-trace.sh). Only processes that are vrrpd count: from the
moment a process execve()s a file named `vrrpd` on, and every process it
forks after that (its PID-1 init's daemon, tokio threads, hooks and
trackers with whatever they exec). Everything a wrapper (unshare, the
shell of a wrapper script) does before that execve is left out.

Every call vrrpd *attempts* is allowed, failed ones included: a denied call
returns EPERM, and a probe that expects ENOSYS or EINVAL (clone3, rseq,
statx fallbacks in glibc and std) would then take another path than the
traced one.
"""
import json
import re
import sys

# Calls that the traces above cannot show yet, added by hand. Each names the
# feature that needs it; move a line out of here once a trace shows it.
EXTRA = {
    # Built-in HTTP GET / TCP connect trackers (not on main when the list
    # was derived): non-blocking connect, poll, send/recv on TCP.
    "connect": "tracker: TCP connect / HTTP GET",
    "getsockopt": "tracker: SO_ERROR after a non-blocking connect",
    "poll": "tracker: waiting for a connect",
    "ppoll": "tracker: waiting for a connect (aarch64 has no poll)",
    "sendto": "tracker: HTTP request; sd_notify datagram",
    "recvfrom": "tracker: HTTP response",
    "shutdown": "tracker: closing the HTTP connection",
    "getpeername": "tracker: connected peer",
    "getsockname": "tracker: local address",
    # Process-events connector (netlink, NETLINK_CONNECTOR) for track_process.
    "socket": "netlink connector socket",
    "bind": "netlink connector bind",
    "recvmsg": "netlink connector events",
    # inotify for track_file.
    "inotify_init1": "tracker: track_file",
    "inotify_add_watch": "tracker: track_file",
    "inotify_rm_watch": "tracker: track_file",
    # Hooks and trackers run as another user (user = "..." in the config).
    "setuid": "hook as another user",
    "setgid": "hook as another user",
    "setgroups": "hook as another user",
    "setresuid": "hook as another user",
    "setresgid": "hook as another user",
    "getgroups": "hook as another user",
    # state_dir: atomic writes of the saved state.
    "openat": "state_dir write",
    "write": "state_dir write",
    "rename": "state_dir: atomic replace",
    "renameat": "state_dir: atomic replace (aarch64)",
    "renameat2": "state_dir: atomic replace",
    "fsync": "state_dir: durable write",
    "fdatasync": "state_dir: durable write",
    "mkdir": "state_dir creation",
    "mkdirat": "state_dir creation",
    "unlink": "state_dir: stale temporary file",
    "unlinkat": "state_dir: stale temporary file",
    "fchmod": "state_dir file mode",
    # What the container runtime (runc) itself calls between loading the
    # filter and exec'ing the entrypoint, and the exec itself.
    "execve": "runtime: exec of the entrypoint, hooks",
    "capget": "runtime: capability drop",
    "capset": "runtime, and vrrpd's own drop to NET_ADMIN + NET_RAW",
    "prctl": "runtime: no_new_privs, keep-caps",
    "fchown": "runtime: stdio ownership",
    "fstat": "runtime: stdio ownership (runc's Go code)",
    "stat": "runtime: finding the entrypoint",
    "lstat": "runtime",
    "chdir": "runtime: the working directory",
    "fchdir": "runtime",
    "getcwd": "runtime",
    "readlinkat": "runtime: /proc/self/fd",
    "tgkill": "runtime: Go's preemption signals",
    "tkill": "runtime",
    "setsid": "runtime: a terminal session (docker run -t)",
    "waitid": "runtime",
    "fstatfs": "runtime",
    "close_range": "runtime: closing inherited descriptors",
    "exit": "runtime and threads",
    "exit_group": "process exit",
    "rt_sigreturn": "signal handlers",
    # Fallbacks the traces rarely or never show: the vDSO's time calls when
    # the vDSO is unusable, the allocator giving memory back, sleeps and
    # yields, the kernel's restart of an interrupted call, clone when
    # clone3 is refused (older kernels and runtimes).
    "clock_gettime": "vDSO fallback",
    "clock_getres": "vDSO fallback",
    "gettimeofday": "vDSO fallback",
    "time": "vDSO fallback",
    "madvise": "allocator",
    "mremap": "allocator",
    "sched_yield": "threads",
    "nanosleep": "sleep",
    "restart_syscall": "interrupted calls",
    "uname": "libc",
    "clone": "fork/spawn when clone3 is refused",
    "fork": "fork (x86_64 libc fallback)",
    # Equivalents on aarch64 of x86_64 calls in the traces (the names a
    # kernel does not know are skipped by the runtime and by systemd).
    "epoll_pwait": "aarch64: epoll_wait",
    "newfstatat": "aarch64: stat",
    "faccessat": "aarch64: access",
    "faccessat2": "aarch64: access",
    "dup3": "aarch64: dup2",
    "pipe2": "aarch64: pipe",
}

LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()")
RET = re.compile(r"\)\s+=\s+(0x[0-9a-f]+|\d+)")
EXECVE = re.compile(r'^\d+\s+execve\("([^"]*)"')


def calls_in(path, ours):
    """Syscall names made by vrrpd processes in one strace -f log."""
    names = set()
    pending_exec = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line)
            if not m:
                continue
            pid = int(m.group(1))
            name = m.group(3) or m.group(2)
            resumed = m.group(2) is not None
            if name == "execve" and not resumed:
                e = EXECVE.match(line)
                if e and e.group(1).rsplit("/", 1)[-1] == "vrrpd":
                    pending_exec[pid] = True
            if name == "execve" and pending_exec.get(pid) and "= 0" in line:
                ours.add(pid)
                pending_exec.pop(pid, None)
            if pid not in ours:
                continue
            if not resumed or name not in names:
                names.add(name)
            if name in ("clone", "clone3", "fork", "vfork"):
                r = RET.search(line)
                if r and int(r.group(1), 0) > 0:
                    ours.add(int(r.group(1), 0))
    return names


def profile(names):
    return {
        "comment": "vrrpd: allow only what the daemon, its PID-1 init and "
        "its hooks/trackers call; derived by scripts/seccomp-trace.sh, see "
        "config/seccomp.md",
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {
                "architecture": "SCMP_ARCH_X86_64",
                "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            },
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
        ],
        "syscalls": [{"names": sorted(names), "action": "SCMP_ACT_ALLOW"}],
    }


def main(argv):
    if argv[:1] == ["--systemd"]:
        with open(argv[1]) as f:
            p = json.load(f)
        names = sorted(n for s in p["syscalls"] for n in s["names"])
        print("SystemCallFilter=" + " ".join(names))
        return 0
    seen = set()
    for path in argv:
        seen |= calls_in(path, set())
    if not seen:
        print("no vrrpd syscalls in the traces", file=sys.stderr)
        return 1
    print(
        f"traced: {len(seen)} syscalls; hand-added: "
        f"{len(set(EXTRA) - seen)}; total {len(seen | set(EXTRA))}",
        file=sys.stderr,
    )
    print(json.dumps(profile(seen | set(EXTRA)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
