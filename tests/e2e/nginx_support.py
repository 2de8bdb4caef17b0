"""nginx in front of Parley nodes, from deploy/nginx/parley.conf itself (not a copy).

``render()`` rewrites only the lines the file marks for it: the address of each uncommented
``server HOST:PORT ...; # node NAME`` line, the ``listen ...; # listen`` line, the paths of
pid, error_log, access_log and the temp directories (all under a prefix directory), and the
``user`` line (kept, as www-data or nobody, only when nginx starts as root: otherwise nginx
ignores it with a warning). It fails when the file and the nodes given disagree, so a config
edit that loses a marker breaks the tests instead of being tested half-rendered.

``Nginx`` renders it into a directory of its own, runs ``nginx -p DIR -c DIR/nginx.conf -g
'daemon off;'`` in a process group of its own on a free loopback port, waits until it has bound
the port (it then closes the stderr pipe it was given) and stops it by PID (SIGTERM, then
SIGKILL for its process group at the deadline, waiting on pidfds); ``close()`` is safe to call
twice. It speaks HTTP like ParleyServer (``origin``, ``request``, ``get``, ``post``), so the
suite's clients can use it as their server.

Also a command line, for scripts/cluster.sh::

    nginx_support.py render --listen 127.0.0.1:8080 --node n1=127.0.0.1:8081 \\
                            --node n2=127.0.0.1:8082 --prefix DIR > DIR/nginx.conf
"""

import argparse
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from parley_harness import TIMEOUT, http_request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONF = os.path.normpath(os.path.join(ROOT, "deploy", "nginx", "parley.conf"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

_NODE_LINE = re.compile(r"^(\s*server\s+)(\S+?)(\s.*;|;)(\s*#\s*node\s+([a-z0-9-]+)\s*)$")
_LISTEN_LINE = re.compile(r"^(\s*listen\s+)([^\s;]+)(.*#\s*listen\s*)$")
_PATHS = {  # directive -> file or directory under the prefix
    "pid": "nginx.pid",
    "error_log": "error.log",
    "access_log": "access.log",
    "client_body_temp_path": "temp/body",
    "proxy_temp_path": "temp/proxy",
}
# Temp directories nginx creates at start even when unused; Debian's defaults (/var/lib/nginx)
# are not ours to touch, so the rendered file names them under the prefix too.
_EXTRA_TEMP = ("fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path")


class RenderError(ValueError):
    pass


def _worker_user():
    for name in ("www-data", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RenderError("no www-data or nobody user for nginx's workers")


def render(text, listen, nodes, prefix, as_root=None):
    """The config ``text`` with ``listen`` ("HOST:PORT"), ``nodes`` ({"n1": "HOST:PORT"}) and
    every path under ``prefix`` (absolute). ``as_root``: whether nginx will start as root
    (default: whether this process is)."""
    if as_root is None:
        as_root = os.geteuid() == 0
    prefix = os.path.abspath(prefix)
    seen_nodes, listens, paths = set(), 0, set()
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            out.append(line)
            continue
        match = _NODE_LINE.match(line)
        if match:
            name = match.group(5)
            if name not in nodes:
                raise RenderError(f"the config names node {name!r}, not given: {line.strip()}")
            seen_nodes.add(name)
            line = match.group(1) + nodes[name] + match.group(3) + match.group(4)
        elif _LISTEN_LINE.match(line):
            match = _LISTEN_LINE.match(line)
            listens += 1
            line = match.group(1) + listen + match.group(3)
        else:
            directive = re.match(r"^(\s*)([a-z_]+)(\s+)(\S+?)(;|\s.*;)(.*)$", line)
            if directive and directive.group(2) in _PATHS:
                name = directive.group(2)
                paths.add(name)
                line = (directive.group(1) + name + directive.group(3)
                        + os.path.join(prefix, _PATHS[name]) + directive.group(5)
                        + directive.group(6))
            elif directive and directive.group(2) == "user":
                line = (directive.group(1) + "user " + _worker_user() + ";" if as_root
                        else directive.group(1) + "# user: not root, nginx runs as its caller")
        out.append(line)
        if re.match(r"^\s*http\s*\{", line):
            for name in _EXTRA_TEMP:
                out.append(f"    {name} {os.path.join(prefix, 'temp', name.split('_')[0])};")
    missing = set(nodes) - seen_nodes
    if missing:
        raise RenderError(f"no `server ...; # node NAME` line for {sorted(missing)}")
    if listens != 1:
        raise RenderError(f"expected one `listen ...; # listen` line, found {listens}")
    if paths != set(_PATHS):
        raise RenderError(f"directives not found: {sorted(set(_PATHS) - paths)}")
    return "\n".join(out) + "\n"


def free_port():
    """A port free on 127.0.0.1 now (nginx binds it a moment later: Nginx retries on a clash)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read_to_end(descriptor, deadline):
    """Everything written to the pipe ``descriptor`` until its last writer closed it; None when
    ``deadline`` (time.monotonic()) came first."""
    said = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
            return None
        chunk = os.read(descriptor, 65536)
        if not chunk:
            return said
        said += chunk


def _wait_gone(pids, deadline):
    """Waits until every process of ``pids`` has exited (pidfds: no polling) or ``deadline``
    (time.monotonic()) has passed; True when they all have."""
    waiting = []
    try:
        for pid in pids:
            try:
                waiting.append(os.pidfd_open(pid))
            except ProcessLookupError:
                pass  # gone already
        while waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            for exited in select.select(waiting, [], [], remaining)[0]:
                waiting.remove(exited)
                os.close(exited)
        return True
    finally:
        for descriptor in waiting:
            os.close(descriptor)


def _group_members(group):
    """PIDs of live processes in process group ``group`` (nginx's master and workers)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry))
    return members


class Nginx:
    """nginx from deploy/nginx/parley.conf in front of ``nodes`` ({"n1": ParleyServer or
    "HOST:PORT"}), on a free port of 127.0.0.1."""

    def __init__(self, nodes, conf=CONF, directory=None):
        self.directory = directory or tempfile.mkdtemp(prefix="parley-nginx-")
        self.owns_directory = directory is None
        # Workers run as www-data when nginx starts as root: they must reach the temp dirs.
        os.chmod(self.directory, 0o755)
        self.process = None
        self.addresses = {
            name: node if isinstance(node, str) else f"{node.host}:{node.port}"
            for name, node in nodes.items()
        }
        with open(conf, encoding="utf-8") as file:
            self.template = file.read()
        self.host = "127.0.0.1"
        try:
            for attempt in range(5):
                if self._start(free_port()):
                    return
            raise AssertionError("nginx found no free port in 5 tries:\n" + self.errors())
        except BaseException:
            self.close()
            raise

    def _start(self, port):
        """Starts on ``port``; False when the port was taken meanwhile."""
        self.port = port
        self.origin = f"http://{self.host}:{port}"
        self.conf = os.path.join(self.directory, "nginx.conf")
        with open(self.conf, "w", encoding="utf-8") as file:
            file.write(render(self.template, f"{self.host}:{port}", self.addresses,
                              self.directory))
        os.makedirs(os.path.join(self.directory, "temp"), exist_ok=True)
        self.stderr_path = os.path.join(self.directory, "stderr.log")
        # nginx's stderr is a pipe of ours until it has bound its listening sockets (and written
        # its pid file): it then points fd 2 at its error log, closing the pipe's last write end,
        # or it exits after saying why on it. The end of that pipe is the moment it accepts
        # connections (the kernel queues them until a worker takes them).
        readiness, writer = os.pipe()
        try:
            with open(self.stderr_path, "ab") as stdout:
                self.process = subprocess.Popen(
                    [NGINX, "-p", self.directory, "-c", self.conf, "-g", "daemon off;"],
                    stdin=subprocess.DEVNULL, stdout=stdout, stderr=writer,
                    start_new_session=True,  # its own process group: the workers go with it
                )
            os.close(writer)
            writer = None
            said = _read_to_end(readiness, time.monotonic() + TIMEOUT)
        finally:
            os.close(readiness)
            if writer is not None:
                os.close(writer)
        if said is None:
            raise AssertionError(f"nginx not accepting on {port} after {TIMEOUT} s:\n"
                                 + self.errors())
        with open(self.stderr_path, "ab") as file:
            file.write(said)
        if b"[emerg]" not in said and self.process.poll() is None:
            return True
        self.process.wait(TIMEOUT)  # an [emerg] is its last word
        if "Address already in use" in self.errors():
            self.process = None
            return False
        raise AssertionError(f"nginx exited with {self.process.returncode}:\n" + self.errors())

    def errors(self):
        """nginx's stderr and error log."""
        text = []
        for name in ("stderr.log", "error.log"):
            try:
                with open(os.path.join(self.directory, name), encoding="utf-8",
                          errors="replace") as file:
                    text.append(file.read())
            except OSError:
                pass
        return "\n".join(text)

    # -- HTTP, as ParleyServer --------------------------------------------------------

    def request(self, method, path, body=None, headers=None, token=None, cookie=None):
        return http_request(self.host, self.port, method, path, body, headers, token, cookie)

    def get(self, path, **options):
        return self.request("GET", path, **options)

    def post(self, path, body=None, **options):
        return self.request("POST", path, body=body, **options)

    # -- life cycle -------------------------------------------------------------------

    def stop(self):
        """SIGTERM (fast shutdown) to the master; SIGKILL to its whole group at the deadline.
        Returns only once no process of the group is left."""
        process, self.process = self.process, None
        if process is None:
            return
        group = process.pid
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + TIMEOUT
        killed = False
        while True:
            members = _group_members(group)  # workers finishing after their master
            if not members:
                break
            if not _wait_gone(members, deadline):
                if killed:
                    raise AssertionError(f"nginx processes {_group_members(group)} survive SIGKILL")
                os.killpg(group, signal.SIGKILL)
                killed, deadline = True, time.monotonic() + TIMEOUT
        process.wait(TIMEOUT)

    def close(self):
        self.stop()
        if self.owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


def main(arguments):
    parser = argparse.ArgumentParser(description="Renders deploy/nginx/parley.conf.")
    commands = parser.add_subparsers(dest="command", required=True)
    render_command = commands.add_parser("render", help="print the rendered config")
    render_command.add_argument("--conf", default=CONF)
    render_command.add_argument("--listen", required=True, help="HOST:PORT")
    render_command.add_argument("--node", action="append", required=True, help="NAME=HOST:PORT")
    render_command.add_argument("--prefix", required=True, help="directory for pid, logs, temp")
    options = parser.parse_args(arguments)
    nodes = dict(item.split("=", 1) for item in options.node)
    with open(options.conf, encoding="utf-8") as file:
        sys.stdout.write(render(file.read(), options.listen, nodes, options.prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
