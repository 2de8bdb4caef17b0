"""Two nodes on one PostgreSQL behind nginx, from deploy/nginx/parley.conf itself.

Each test starts its own cluster: nodes n1 and n2 (``--node-id``, ``--trust-proxy``, the same
fresh schema of the `services` fixture's PostgreSQL) and nginx rendered by nginx_support on a
free port. What they prove:

- a long-polling session through nginx stays on the node its sid names (the sid starts with
  that node's id, and the nodes' own /metrics count every one of its requests on that node and
  none on the other), and its WebSocket upgrade through nginx reaches that node too;
- python-socketio (polling then the upgrade, and WebSocket only) signs in, connects and calls
  events through nginx, and a message sent through one node is in the history read on the other;
- after SIGKILL of the node holding a session, nginx answers that sid's next request with 502,
  and a new handshake through nginx lands on the other node and works;
- SIGTERM drains a node: its /healthz answers 503 and it refuses new handshakes with 503 (seen
  on the node itself), its clients are closed and reconnect through nginx to the other node,
  and it exits 0.

These nodes run without the bus (--bus): what needs it, across nodes and through nginx, is in
test_cluster_nginx_bus.py. Every wait blocks on a log line, a response or a client
event with the harness TIMEOUT, which only bounds failures.
"""

import json
import queue
import re
import signal
import socket
import threading
import unittest
import warnings

import socketio
import websocket

from chat_client import Chat
from nginx_support import Nginx
from parley_harness import (TIMEOUT, ParleyServer, drop_postgres_schema, new_postgres_schema)

NODES = ("n1", "n2")
PHONES = [f"+141555502{n:02d}" for n in range(1, 40)]
POLLING = "/socket.io/?EIO=4&transport=polling"
TEXT = {"Content-Type": "text/plain;charset=UTF-8"}


def node_of(sid):
    return sid.split(".", 1)[0]


class Polling:
    """A raw Engine.IO long-polling session opened through ``via`` (nginx or a node)."""

    def __init__(self, via):
        self.via = via
        answer = via.get(POLLING)
        assert answer.status == 200 and answer.body.startswith(b"0{"), answer
        self.sid = json.loads(answer.body[1:])["sid"]
        self.path = f"{POLLING}&sid={self.sid}"

    def post(self, *packets):
        return self.via.post(self.path, "\x1e".join(packets), headers=TEXT)

    def get(self):
        """One GET: the packets the node had queued, or waits for the next one."""
        return self.via.get(self.path)

    def packets(self):
        answer = self.get()
        assert answer.status == 200, answer
        return answer.body.decode().split("\x1e")

    def connect(self, token):
        """Socket.IO CONNECT with a token; returns the CONNECT answer's packet."""
        answer = self.post("40" + json.dumps({"token": token}))
        assert answer.status == 200 and answer.body == b"ok", answer
        received = self.packets()
        assert received[0].startswith('40{"sid":'), received
        return received[0]

    def sync(self, ack_id):
        """The `sync` event with an empty cursor list; returns its ack's argument."""
        answer = self.post(f'42{ack_id}["sync",{{"cursors":[]}}]')
        assert answer.status == 200 and answer.body == b"ok", answer
        received = self.packets()
        acks = [item for item in received if item.startswith(f"43{ack_id}[")]
        assert len(acks) == 1, received
        return json.loads(acks[0][len(f"43{ack_id}"):])[0]


class ClusterCase(unittest.TestCase):
    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)  # python-engineio's own sockets
        self.phones = iter(PHONES)
        database, schema = new_postgres_schema()
        self.addCleanup(drop_postgres_schema, schema)
        # One condition for both logs: wait for a line (a code) from whichever node logs it.
        self.condition = threading.Condition()
        self.nodes = {}
        for name in NODES:
            node = ParleyServer("--node-id", name, "--trust-proxy", "--log-level", "debug",
                                "--max-connections-per-address", "100000",
                                database=database, condition=self.condition)
            self.addCleanup(node.close)
            node.wait_for_log(rf"\bserver\.node id={name}$")
            self.nodes[name] = node
        self.nginx = Nginx(self.nodes)
        self.addCleanup(self.nginx.close)  # first of the cleanups: nginx, then the nodes

    # -- helpers ------------------------------------------------------------------------

    def other(self, name):
        return next(node for node in NODES if node != name)

    def sign_in(self, name):
        """Signs in through nginx; the code is in the log of whichever node sent it."""
        phone = next(self.phones)
        answer = self.nginx.post("/api/v1/auth/code", {"phone": phone})
        self.assertEqual(answer.status, 202, answer)
        with self.condition:
            found = self.condition.wait_for(
                lambda: any(node.codes[phone] for node in self.nodes.values()), TIMEOUT)
            self.assertTrue(found, f"no code for {phone} in either node's log")
            code = next(node.codes[phone].popleft() for node in self.nodes.values()
                        if node.codes[phone])
        answer = self.nginx.post("/api/v1/auth/verify", {"phone": phone, "code": code,
                                                          "name": name})
        self.assertEqual(answer.status, 200, answer)
        return answer.json()  # {"token", "user"}

    def socketio_requests(self, name):
        """HTTP requests node ``name`` has answered on /socket.io/, from its own /metrics."""
        answer = self.nodes[name].get("/metrics")
        self.assertEqual(answer.status, 200, answer)
        total = 0
        for line in answer.body.decode().splitlines():
            if line.startswith("parley_http_requests_total{") and 'route="/socket.io' in line:
                total += int(float(line.rsplit(" ", 1)[1]))
        return total

    def chat(self, token, transports):
        chat = Chat(self.nginx, token, transports)
        self.addCleanup(chat.disconnect)
        return chat.connect()

    def assertOnOneNode(self, sid):
        self.assertRegex(sid, r"^(n1|n2)\.[A-Za-z0-9_-]{20}$")
        return node_of(sid)


class RoutingTest(ClusterCase):
    def test_healthz_names_the_node_that_answered(self):
        for name, node in self.nodes.items():
            self.assertEqual(node.get("/healthz").json(), {"status": "ok", "node": name})
        answer = self.nginx.get("/healthz")
        self.assertEqual(answer.status, 200, answer)
        self.assertIn(answer.json()["node"], NODES)
        self.assertEqual(self.nginx.get("/metrics").status, 403)  # nodes are scraped directly

    def test_a_polling_session_stays_on_the_node_its_sid_names_and_upgrades_there(self):
        user = self.sign_in("Alice")
        before = {name: self.socketio_requests(name) for name in NODES}
        session = Polling(self.nginx)
        home = self.assertOnOneNode(session.sid)
        session.connect(user["token"])
        for ack_id in range(1, 4):
            self.assertIs(session.sync(ack_id)["ok"], True)
        # Handshake, CONNECT (POST, GET), three events (POST, GET each): all on the sid's node.
        self.assertEqual(self.socketio_requests(home) - before[home], 9)
        self.assertEqual(self.socketio_requests(self.other(home)) - before[self.other(home)], 0)

        # The upgrade: a WebSocket for the sid, through nginx, to the same node.
        port = self.nginx.port
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&sid={session.sid}",
            timeout=TIMEOUT)
        self.addCleanup(ws.close)
        ws.send("2probe")
        self.assertEqual(ws.recv(), "3probe")
        ws.send("5")
        self.nodes[home].wait_for_log(rf"\bengineio\.upgraded sid={re.escape(session.sid)}$")
        ws.send('424["sync",{"cursors":[]}]')
        while True:
            frame = ws.recv()
            if frame == "2":
                ws.send("3")
                continue
            break
        self.assertTrue(frame.startswith("434["), frame)
        self.assertIs(json.loads(frame[3:])[0]["ok"], True)


class OfficialClientTest(ClusterCase):
    def test_python_socketio_through_nginx_in_both_modes(self):
        alice = self.sign_in("Alice")
        bob = self.sign_in("Bob")
        sent = {}
        for transports in (("polling", "websocket"), ("websocket",)):
            with self.subTest(transports=transports):
                chat = self.chat(alice["token"], transports)
                self.assertEqual(chat.sio.transport(), "websocket")
                home = self.assertOnOneNode(chat.sio.eio.sid)
                self.assertIs(chat.ack("sync", {"cursors": []})["ok"], True)
                body = f"hello over {'+'.join(transports)}"
                ack = chat.send(body, to=bob["user"]["id"])
                self.assertIs(ack["ok"], True, ack)
                sent[body] = (home, ack["message"])
                chat.disconnect()
        # One PostgreSQL: what went in through a node is in the history read on the other.
        for body, (home, message) in sent.items():
            other = self.nodes[self.other(home)]
            answer = other.get(f"/api/v1/conversations/{message['conversation_id']}/messages",
                               token=bob["token"])
            self.assertEqual(answer.status, 200, answer)
            self.assertIn((message["id"], body),
                          [(item["id"], item["body"]) for item in answer.json()["messages"]])


class FailoverTest(ClusterCase):
    def test_a_killed_node_gets_502_and_a_new_handshake_lands_on_the_other(self):
        user = self.sign_in("Alice")
        session = Polling(self.nginx)
        home = self.assertOnOneNode(session.sid)
        session.connect(user["token"])
        self.nodes[home].kill()  # SIGKILL

        answer = session.get()
        self.assertEqual(answer.status, 502, answer)  # from nginx: the sid's node is gone
        self.assertEqual(session.post("3").status, 502)

        again = Polling(self.nginx)  # the handshake goes to the pool, which skips the dead node
        self.assertEqual(node_of(again.sid), self.other(home))
        again.connect(user["token"])
        self.assertIs(again.sync(1)["ok"], True)
        chat = self.chat(user["token"], ("polling", "websocket"))
        self.assertEqual(node_of(chat.sio.eio.sid), self.other(home))
        self.assertIs(chat.ack("sync", {"cursors": []})["ok"], True)


def expect_100(node, request):
    """A connection to ``node`` holding ``request`` (one body byte announced, not sent) after
    the node's 100 Continue: a request in flight, which a drain lets finish."""
    connection = socket.create_connection((node.host, node.port), timeout=TIMEOUT)
    connection.sendall(request.encode() + b"Host: x\r\nContent-Length: 1\r\n"
                       b"Expect: 100-continue\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 100 "), head
    return connection


def finish(connection):
    """Sends the body byte; returns (status, body) of the answer (the node then closes)."""
    connection.sendall(b"x")
    data = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    connection.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


class DrainTest(ClusterCase):
    def client(self, token):
        """python-socketio over WebSocket through nginx, reconnecting by itself."""
        sio = socketio.Client(reconnection=True, reconnection_delay=0.2,
                              reconnection_delay_max=1)
        connects = queue.Queue()
        sio.on("connect", lambda: connects.put(sio.eio.sid))
        self.addCleanup(sio.disconnect)
        self.addCleanup(self.stop_reconnecting, sio)  # runs before the disconnect
        sio.connect(self.nginx.origin, transports=["websocket"], auth={"token": token},
                    wait_timeout=TIMEOUT)
        return sio, connects

    @staticmethod
    def stop_reconnecting(sio):
        """python-socketio's disconnect() does not stop a reconnection loop: end it here."""
        if sio._reconnect_abort is not None:
            sio._reconnect_abort.set()
        if sio._reconnect_task is not None:
            sio._reconnect_task.join(TIMEOUT)

    @staticmethod
    def next_connect(connects):
        try:
            return connects.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no (re)connection within {TIMEOUT} s") from None

    def test_sigterm_drains_a_node_and_its_clients_reconnect_to_the_other(self):
        user = self.sign_in("Alice")
        clients = [self.client(user["token"]) for _ in range(2)]
        first_sids = [self.next_connect(connects) for _, connects in clients]
        drained = node_of(first_sids[0])
        staying = self.other(drained)
        node = self.nodes[drained]
        # Two requests in flight on the draining node, to be answered during its drain.
        health = expect_100(node, "GET /healthz HTTP/1.1\r\n")
        handshake = expect_100(node, f"GET {POLLING} HTTP/1.1\r\n")

        start = node.log_size()
        node.process.send_signal(signal.SIGTERM)
        node.wait_for_log(r"\bhttp\.draining\b", start)
        self.assertEqual(finish(health), (503, b'{"status":"draining","node":"%s"}'
                                          % drained.encode()))
        # Sessions are closed only once the engine takes no new ones.
        node.wait_for_log(rf"\bengineio\.closed sid={re.escape(first_sids[0])} ", start)
        status, _ = finish(handshake)
        self.assertEqual(status, 503)
        node.exit_status()
        node.wait_for_log(r"\bserver\.stopped\b", start)

        for (sio, connects), sid in zip(clients, first_sids):
            if node_of(sid) == drained:  # closed: back through nginx, on the other node
                again = self.next_connect(connects)
                self.assertEqual(node_of(again), staying)
            else:  # on the other node all along: the same session
                self.assertEqual(sio.eio.sid, sid)
            answer = sio.call("sync", {"cursors": []}, timeout=TIMEOUT)
            self.assertIs(answer["ok"], True)
        self.assertEqual(self.nginx.get("/healthz").json(), {"status": "ok", "node": staying})


if __name__ == "__main__":
    unittest.main()
