"""How the e2e tests run Debian's python-engineio 4.3.4 client: imported (for its effect) by
every module that uses python-socketio's client."""

import queue
import threading

import engineio


def _daemon_task(self, target, *args, **kwargs):
    if getattr(target, "__name__", "") == "_handle_eio_message":
        return _in_order(self, target, args)
    thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def _in_order(client, handler, args):
    """Runs the client's message handlers one after another, in the order they came in, on
    one thread per client."""
    messages = getattr(client, "_messages_in_order", None)
    if messages is None:
        messages = client._messages_in_order = queue.SimpleQueue()

        def run():
            while True:
                call, arguments = messages.get()
                try:
                    call(*arguments)
                except Exception:  # the library's own handler logs the same way
                    client.logger.exception("message handler error")

        threading.Thread(target=run, daemon=True, name="messages_in_order").start()
    messages.put((handler, args))


# python-engineio 4.3.4 runs its read loop, write loop, event handlers and reconnection loop
# on non-daemon threads, so one of them still blocked after the tests (seen once, under heavy
# parallel load, after every test had passed) keeps the interpreter from exiting. Every test
# asserts what it needs before it ends; make the library's threads daemons.
#
# It also hands every Engine.IO message to python-socketio on a thread of its own, so two
# messages that came in order can be handled out of order: a binary event's attachment can
# then be decoded before its header, as a packet of its own ("invalid literal for int() with
# base 10: b'\x1e'", seen once in ComplianceUpgradeTest.test_binary_round_trip; the same
# client race as python-socketio issues #403 and #436). The server's order is what these tests
# check, so the messages are handled in the order they arrived, still off the read loop.
engineio.Client.start_background_task = _daemon_task
