"""The `group-change` workload of bench/run.py (Parley only; the peer has no groups): what a
change to a large group costs the server, where each member gets the whole conversation object
(API.md: `conversation`, the members included).

1. Creation: one user creates a group of every bench user (M, 1,000 with the creator) over
   REST while nobody is connected. Wall time of the request, the server's CPU (utime + stime of
   /proc/PID/stat) and the growth of its peak RSS (VmHWM, reset through /proc/PID/clear_refs
   just before) over it.
2. Renames with every member online: each member on a WebSocket of its own (Engine.IO v4,
   websocket transport, Socket.IO CONNECT with the token; asyncio, raw frames, one thread).
   R rounds (3): the creator renames the group over REST; t0 before the request, t1 when the
   last member has its `conversation` event with the new title. Reported: time to the last
   member (p50 and max over the rounds), the server's CPU per rename (mean) and the largest
   growth of its peak RSS. The size of the conversation object each member gets is reported too:
   M such objects go out per change, whatever the server does.

Returns the result in parley-load's JSON shape (workload, label, date, parameters, figures).
"""

import asyncio
import base64
import datetime
import json
import os
import time
import urllib.request

import media  # the /proc readers, Failure

TIMEOUT = 120  # bounds every wait; only a failure reaches it
SHOWN = ["create_ms", "create_server_cpu_ms", "create_rss_growth_mib", "rename_to_last_p50_ms",
         "rename_to_last_max_ms", "rename_server_cpu_ms", "rename_rss_growth_mib",
         "conversation_object_bytes"]


Failure = media.Failure


def add_arguments(parser):
    group = parser.add_argument_group("group-change workload (bench/groups.py)")
    group.add_argument("--group-members", type=int, default=1000,
                       help="members of the group, its creator included (default 1000, the most "
                            "the server allows)")
    group.add_argument("--group-renames", type=int, default=3,
                       help="renames with every member online (default 3)")


def plan(options):
    """The workload's entry in bench/run.py's plans."""
    members = 20 if options.smoke else options.group_members
    sizes = dict(members=members, renames=1 if options.smoke else options.group_renames)
    return dict(users=members, groups=sizes, parley_only="the peer has no groups", shown=SHOWN)


def rest(url, method, path, token, body):
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read() or b"null")


def masked_text_frame(text):
    data = text.encode()
    mask = os.urandom(4)
    if len(data) < 126:
        head = bytes([0x81, 0x80 | len(data)])
    else:
        head = bytes([0x81, 0x80 | 126]) + len(data).to_bytes(2, "big")
    return head + mask + bytes(byte ^ mask[index % 4] for index, byte in enumerate(data))


async def read_message(reader):
    """The payload of the next frame (the server sends whole text frames)."""
    head = await reader.readexactly(2)
    size = head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(await reader.readexactly(2), "big")
    elif size == 127:
        size = int.from_bytes(await reader.readexactly(8), "big")
    if head[0] & 0x0F == 0x8:
        raise Failure("the server closed a member's WebSocket")
    return await reader.readexactly(size)


class Member:
    """One member's WebSocket: connects, then hands each `conversation` event to `on_view`."""

    def __init__(self, host, port, token):
        self.host, self.port, self.token = host, port, token
        self.writer = None

    async def connect(self):
        reader, self.writer = await asyncio.open_connection(self.host, self.port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                          f"Host: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                          f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
        answer = await reader.readuntil(b"\r\n\r\n")
        if not answer.startswith(b"HTTP/1.1 101"):
            raise Failure(f"upgrade refused: {answer[:80]!r}")
        await read_message(reader)  # Engine.IO's open
        self.writer.write(masked_text_frame("40" + json.dumps({"token": self.token})))
        while not (await read_message(reader)).startswith(b"40"):
            pass
        return reader

    async def listen(self, reader, on_view):
        while True:
            data = await read_message(reader)
            if data == b"2":
                self.writer.write(masked_text_frame("3"))
            elif data.startswith(b'42["conversation",'):  # handed over whole
                on_view(data)

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def renames(url, pid, tokens, conversation, rounds):
    host, port = url.removeprefix("http://").split(":")
    members = [Member(host, int(port), token) for token in tokens]
    readers = await asyncio.wait_for(asyncio.gather(*(member.connect() for member in members)),
                                     TIMEOUT)
    state = {"title": None, "seen": 0, "bytes": 0, "done": None}
    prefix = b'42["conversation",'

    def on_view(data):
        # Found, not parsed: parsing 1,000 objects of 125 KB in Python would be what is timed.
        if state["title"] in data:
            state["seen"] += 1
            state["bytes"] = len(data) - len(prefix) - 1  # the object: without "]"
            if state["seen"] == len(members):
                state["done"].set_result(time.monotonic())

    listeners = [asyncio.create_task(member.listen(reader, on_view))
                 for member, reader in zip(members, readers)]
    loop = asyncio.get_running_loop()
    walls, cpus, growths = [], [], []
    try:
        for index in range(rounds):
            title = f"Renamed {index + 1}"
            state.update(title=b'"title":' + json.dumps(title).encode(), seen=0,
                         done=loop.create_future())
            media.reset_high_water_mark(pid)
            before = media.status_kib(pid, "VmRSS")
            window = media.Window(pid)
            started = time.monotonic()
            await loop.run_in_executor(None, rest, url, "PATCH",
                                       f"/api/v1/conversations/{conversation}", tokens[0],
                                       {"title": title})
            finished = await asyncio.wait_for(state["done"], TIMEOUT)
            window.close()
            walls.append(finished - started)
            cpus.append(window.cpu)
            growths.append(media.status_kib(pid, "VmHWM") - before)
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for member in members:
            member.close()
    return {"rename_to_last_p50_ms": media.ms(media.percentile(walls, 50)),
            "rename_to_last_max_ms": media.ms(max(walls)),
            "rename_server_cpu_ms": media.ms(sum(cpus) / len(cpus)),
            "rename_rss_growth_mib": round(max(growths) / 1024, 1),
            "conversation_object_bytes": state["bytes"]}


def run(server, sizes, label):
    """Creates the group, then renames it with every member online; the result as parley-load
    writes it."""
    return media.failing_as_one(measure, server, sizes, label)


def measure(server, sizes, label):
    pid = server.pids[0]
    with open(server.users_file) as stream:
        users = [line.split() for line in stream if line.strip()][:sizes["members"]]
    tokens = [token for _, token in users]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    figures = {"load_average_1m": round(os.getloadavg()[0], 2)}

    media.reset_high_water_mark(pid)
    before = media.status_kib(pid, "VmRSS")
    window = media.Window(pid)
    created = rest(server.url, "POST", "/api/v1/conversations", tokens[0],
                   {"members": [int(user_id) for user_id, _ in users[1:]], "title": "Everyone"})
    window.close()
    conversation = created["conversation"]
    if len(conversation["members"]) != len(users):
        raise Failure(f"the group has {len(conversation['members'])} members, not {len(users)}")
    figures.update(create_ms=media.ms(window.wall), create_server_cpu_ms=media.ms(window.cpu),
                   create_rss_growth_mib=round((media.status_kib(pid, "VmHWM") - before) / 1024, 1))
    figures.update(asyncio.run(renames(server.url, pid, tokens, conversation["id"],
                                       sizes["renames"])))
    return {"workload": "group-change", "label": label, "date": date, "parameters": sizes,
            "figures": figures}
