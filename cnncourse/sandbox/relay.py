"""Stand-in for a warm kernel's process: ``python -I -S relay.py SOCKET REQUEST_FILE``.

jupyter_client starts this instead of the kernel command when kernels are warm
(:mod:`cnncourse.sandbox.zygote`). It sends the request and its own stdin, stdout and
stderr (the kernel's log) to the kernel server -- and, where the kernel has a memory
cgroup, that cgroup's ``cgroup.procs`` opened for writing, which the forked kernel writes
itself into -- then waits: it lives exactly as long as the kernel and exits with the
kernel's status (128 + N when signal N killed it). Killing it kills the kernel. Standard
library only, so that it starts in milliseconds.
"""

import json
import os
import socket
import sys


def main() -> int:
    sock_path, request_file = sys.argv[1], sys.argv[2]
    with open(request_file, "rb") as f:
        request = f.read()
    os.unlink(request_file)
    fds = [0, 1, 2]
    procs = json.loads(request).get("cgroup_procs")
    if procs:  # no cgroup, no kernel: the server refuses a request without it
        fds.append(os.open(procs, os.O_WRONLY | os.O_CLOEXEC))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sock_path)
    socket.send_fds(sock, [request], fds)
    for fd in fds[3:]:
        os.close(fd)
    reply = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    try:
        message = json.loads(reply)
    except ValueError:
        message = {"error": "the kernel server went away"}
    if "exit" in message:
        return int(message["exit"])
    sys.stderr.write(f"sandbox: {message.get('error')}\n")
    return 70


if __name__ == "__main__":
    sys.exit(main())
