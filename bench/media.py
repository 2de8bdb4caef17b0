"""The `media` workload of bench/run.py (Parley only; the peer has no uploads): uploads,
thumbnails and attachments, on one fresh server with the upload limits raised by flags.

Three measurements, in this order (the big uploads first, so that their "before" is a fresh
server's memory, not what image work left in the allocator):

1. Server memory during big uploads: B clients (10; distinct users) each stream S bytes
   (100 MiB) of a non-image file at once, in 1 MiB pieces over a raw http.client connection
   with a Content-Length, made as they are sent. A sampler reads VmRSS from
   /proc/PID/status every 50 ms; the kernel's high-water mark (VmHWM, reset through
   /proc/PID/clear_refs just before) is reported beside it as a cross-check.
2. Thumbnails per second: N distinct 2000x1500 JPEG photos of about 1 MB (made once per run
   with PIL: a gradient under noise, each a different crop, so that no two have the same
   pixels and content addressing cannot share their bytes) uploaded by C clients (distinct
   users, keep-alive connections). An upload is answered once its image is re-encoded and its
   thumbnail made, so uploads/s over the run is thumbnails/s; per core it is images per second
   of server CPU (utime + stime of /proc/PID/stat over the same window).
3. Upload to the other person seeing the thumbnail: M sends, started at a fixed rate (open
   loop: a send starts on time whatever the earlier ones are doing). Each: t0 when the sender
   starts the upload; upload; `message:send` with the attachment; the receiver (a contact, on
   Socket.IO) gets the `message` event and GETs its thumbnail_url; t1 at the last byte. The
   rate is --media-rate, or by default half of the thumbnails/s measured in 2 (at most
   10/s): well under what the image pool can do, so it measures latency, not a queue.

Returns the result in parley-load's JSON shape (workload, label, date, parameters, figures).
"""

import datetime
import http.client
import io
import itertools
import json
import os
import struct
import threading
import time
import urllib.parse
import uuid

MIB = 1 << 20
WIDTH, HEIGHT = 2000, 1500
PHOTO_BYTES = 1_000_000  # the size the JPEG quality is tuned to
MARGIN = 64  # a noise field this much larger than a photo: MARGIN² distinct crops
TIMEOUT = 120  # bounds every wait; only a failure reaches it
SHOWN = ["thumbnails_per_s", "thumbnails_per_cpu_s", "server_cpu_ms_per_image",
         "upload_p50_ms", "seen_rate_per_s", "seen_p50_ms", "seen_p99_ms",
         "big_rss_before_mib", "big_rss_peak_mib", "big_rss_growth_mib", "big_rss_after_mib",
         "big_mib_per_s", "load_average_1m"]


class Failure(Exception):
    pass


def add_arguments(parser):
    group = parser.add_argument_group("media workload (bench/media.py)")
    group.add_argument("--media-photos", type=int, default=200,
                       help="photos uploaded for thumbnails/s (default 200)")
    group.add_argument("--media-clients", type=int, default=4,
                       help="concurrent uploaders of those (default 4; at most 9: the image "
                            "pool queues 8 beside the one it works on and refuses more)")
    group.add_argument("--media-sends", type=int, default=200,
                       help="sends with a photo for upload-to-seen latency (default 200)")
    group.add_argument("--media-rate", type=float, default=0,
                       help="their rate per second (default: half the measured thumbnails/s, "
                            "at most 10)")
    group.add_argument("--media-big-clients", type=int, default=10,
                       help="concurrent big uploads (default 10)")
    group.add_argument("--media-big-mib", type=int, default=100,
                       help="size of each big upload in MiB (default 100)")


def plan(options):
    """The workload's entry in bench/run.py's plans."""
    smoke = options.smoke
    sizes = dict(photos=3 if smoke else options.media_photos,
                 clients=2 if smoke else options.media_clients,
                 sends=3 if smoke else options.media_sends,
                 rate=options.media_rate,
                 big_clients=3 if smoke else options.media_big_clients,
                 big_bytes=(4 if smoke else options.media_big_mib) * MIB)
    big = 1 << 40
    flags = ["--upload-rate", "0", "--max-upload-bytes", str(max(sizes["big_bytes"], 100 * MIB)),
             "--upload-daily-bytes", str(big), "--upload-stored-bytes", str(big)]
    return dict(users=2 + max(sizes["clients"], sizes["big_clients"]), media=sizes, flags=flags,
                parley_only="the peer has no uploads", shown=SHOWN)


# -- the server process, from /proc -----------------------------------------------------------

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stream:
        fields = stream.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def status_kib(pid, name):
    with open(f"/proc/{pid}/status") as stream:
        for line in stream:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise Failure(f"no {name} in /proc/{pid}/status")


def reset_high_water_mark(pid):
    """Resets VmHWM to the current RSS (Linux ≥ 4.0); False when not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as stream:
            stream.write("5")
        return True
    except OSError:
        return False


def busy_seconds():
    """Non-idle CPU seconds of the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat") as stream:
        fields = [int(value) for value in stream.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class Window:
    """Wall time, the server's CPU time and the machine's busy time over a measured window."""

    def __init__(self, pid):
        self.pid = pid
        self.load = os.getloadavg()[0]
        self.wall, self.cpu, self.busy = time.monotonic(), cpu_seconds(pid), busy_seconds()

    def close(self):
        self.wall = time.monotonic() - self.wall
        self.cpu = cpu_seconds(self.pid) - self.cpu
        self.busy = busy_seconds() - self.busy
        return self


def percentile(values, share):
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 100))  # nearest rank
    return ordered[int(rank) - 1]


def ms(seconds):
    return round(seconds * 1000, 1)


# -- photos -----------------------------------------------------------------------------------

def make_photos(count, directory):
    """`count` distinct JPEG files of WIDTHxHEIGHT, about PHOTO_BYTES each; their paths."""
    from PIL import Image  # python3-pil

    if count > MARGIN * MARGIN:
        raise Failure(f"at most {MARGIN * MARGIN} distinct photos")
    size = (WIDTH + MARGIN, HEIGHT + MARGIN)
    noise = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    ramp = Image.linear_gradient("L")
    base = Image.merge("RGB", (ramp.rotate(90).resize(size), ramp.resize(size),
                               Image.radial_gradient("L").resize(size)))
    field = Image.blend(base, noise, 0.25)

    def crop(index):
        x, y = index % MARGIN, index // MARGIN
        return field.crop((x, y, x + WIDTH, y + HEIGHT))

    def encoded(image, quality):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        return out.getvalue()

    # The quality that lands near PHOTO_BYTES (bisection on the first photo).
    low, high, quality = 30, 95, 75
    sample = crop(0)
    for _ in range(6):
        got = len(encoded(sample, quality))
        if abs(got - PHOTO_BYTES) < PHOTO_BYTES * 0.05:
            break
        low, high = (quality, high) if got < PHOTO_BYTES else (low, quality)
        quality = (low + high) // 2
    os.makedirs(directory, exist_ok=True)
    paths = []
    for index in range(count):
        path = os.path.join(directory, f"photo-{index}.jpg")
        with open(path, "wb") as stream:
            stream.write(encoded(crop(index), quality))
        paths.append(path)
    return paths, quality


# -- HTTP -------------------------------------------------------------------------------------

class Http:
    def __init__(self, url):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)

    def call(self, method, path, token, body=None, headers=None, connection=None):
        """(status, headers, body bytes); on `connection` when given (kept alive), else on a
        fresh one."""
        own = connection is None
        connection = connection or self.connection()
        try:
            headers = dict(headers or {}, Authorization=f"Bearer {token}")
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            if own:
                connection.close()

    def json(self, method, path, token, body, expected):
        status, _, answer = self.call(method, path, token, json.dumps(body).encode(),
                                      {"Content-Type": "application/json"})
        if status not in expected:
            raise Failure(f"{method} {path}: {status} {answer[:300]!r}")
        return json.loads(answer)

    def upload(self, token, path, connection=None):
        """Uploads the JPEG at `path`; its upload object."""
        with open(path, "rb") as stream:
            body = stream.read()
        status, _, answer = self.call("POST", "/api/v1/uploads", token, body,
                                      {"Content-Type": "image/jpeg",
                                       "X-Filename": os.path.basename(path)}, connection)
        if status != 201:
            raise Failure(f"upload of {path}: {status} {answer[:300]!r}")
        upload = json.loads(answer)["upload"]
        if upload["kind"] != "image" or (upload["width"], upload["height"]) != (WIDTH, HEIGHT):
            raise Failure(f"upload of {path} came back as {upload}")
        return upload


def run_threads(count, target):
    """Runs target(index) on `count` threads; raises the first failure."""
    failures = []

    def body(index):
        try:
            target(index)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=body, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 10)
        if thread.is_alive():
            raise Failure("a client thread did not finish")
    if failures:
        raise Failure(f"{type(failures[0]).__name__}: {failures[0]}")


# -- 1. big uploads ---------------------------------------------------------------------------

def big_uploads(web, pid, tokens, size):
    block = os.urandom(MIB)  # each piece: this with the client and piece number in front
    pieces = -(-size // MIB)
    start = threading.Barrier(len(tokens))
    samples = []
    stop = threading.Event()

    def sample():
        while True:
            samples.append(status_kib(pid, "VmRSS"))
            if stop.wait(0.05):  # the sampling interval
                return

    def upload(index):
        connection = web.connection()
        try:
            start.wait(TIMEOUT)
            connection.putrequest("POST", "/api/v1/uploads")
            for name, value in (("Authorization", f"Bearer {tokens[index]}"),
                                ("Content-Type", "application/octet-stream"),
                                ("X-Filename", f"archive-{index}.bin"),
                                ("Content-Length", str(size))):
                connection.putheader(name, value)
            connection.endheaders()
            for piece in range(pieces):
                chunk = bytearray(block[:min(MIB, size - piece * MIB)])
                chunk[:16] = struct.pack("<QQ", index, piece)
                connection.send(chunk)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 201:
                raise Failure(f"big upload: {response.status} {answer[:300]!r}")
            upload = json.loads(answer)["upload"]
            if upload["kind"] != "file" or upload["size"] != size:
                raise Failure(f"big upload came back as {upload}")
        finally:
            connection.close()

    before = status_kib(pid, "VmRSS")
    hwm = reset_high_water_mark(pid)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    window = Window(pid)
    try:
        run_threads(len(tokens), upload)
    finally:
        window.close()
        stop.set()
        sampler.join()
    after = status_kib(pid, "VmRSS")
    peak = max(samples + [after])
    figures = {
        "big_uploads": len(tokens), "big_upload_mib": round(size / MIB, 1),
        "big_rss_before_mib": round(before / 1024, 1),
        "big_rss_peak_mib": round(peak / 1024, 1),
        "big_rss_after_mib": round(after / 1024, 1),
        "big_rss_growth_mib": round((peak - before) / 1024, 1),
        "big_rss_samples": len(samples),
        "big_seconds": round(window.wall, 2),
        "big_mib_per_s": round(len(tokens) * size / MIB / window.wall, 1),
        "big_server_cpu_cores": round(window.cpu / window.wall, 2),
        "big_machine_busy_cores": round(window.busy / window.wall, 2),
    }
    if hwm:  # the kernel's high-water mark since the reset (it may lag a peak freed in between)
        figures["big_rss_hwm_mib"] = round(status_kib(pid, "VmHWM") / 1024, 1)
    return figures


# -- 2. thumbnails per second -----------------------------------------------------------------

def thumbnails(web, pid, tokens, photos):
    numbers = itertools.count()
    lock = threading.Lock()
    times, uploads = [], []

    def client(index):
        connection = web.connection()  # kept alive
        try:
            while True:
                with lock:
                    number = next(numbers)
                if number >= len(photos):
                    return
                started = time.monotonic()
                upload = web.upload(tokens[index], photos[number], connection)
                took = time.monotonic() - started
                with lock:
                    times.append(took)
                    uploads.append((index, upload))
        finally:
            connection.close()

    window = Window(pid)
    run_threads(len(tokens), client)
    window.close()
    # Outside the window: one thumbnail, as its owner sees it, is a JPEG of at most 800 px.
    from PIL import Image
    index, upload = uploads[-1]
    status, headers, body = web.call("GET", f"/media/{upload['id']}/thumbnail", tokens[index])
    shown = Image.open(io.BytesIO(body))
    if status != 200 or headers["Content-Type"] != "image/jpeg" or max(shown.size) > 800:
        raise Failure(f"thumbnail: {status} {headers['Content-Type']} {shown.size}")
    return {
        "photos": len(photos), "clients": len(tokens),
        "thumbnail_px": f"{shown.size[0]}x{shown.size[1]}",
        "thumbnails_per_s": round(len(photos) / window.wall, 2),
        "thumbnails_per_cpu_s": round(len(photos) / window.cpu, 2) if window.cpu else None,
        "server_cpu_ms_per_image": ms(window.cpu / len(photos)),
        "server_cpu_cores": round(window.cpu / window.wall, 2),
        "upload_p50_ms": ms(percentile(times, 50)), "upload_p99_ms": ms(percentile(times, 99)),
        "thumbnails_machine_busy_cores": round(window.busy / window.wall, 2),
        "thumbnails_load_average_1m": round(window.load, 2),
    }


# -- 3. upload to the other person seeing the thumbnail ---------------------------------------

def seen(web, url, pid, sender, receiver, photos, rate):
    import engineio
    import socketio

    # As in tests/e2e/chat_client.py: python-engineio 4.3.4 runs its loops on non-daemon
    # threads; one left blocked would keep the interpreter from exiting.
    def daemon_task(self, target, *args, **kwargs):
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        return thread

    engineio.Client.start_background_task = daemon_task
    sender_id, sender_token, sender_phone = sender
    receiver_id, receiver_token, receiver_phone = receiver
    # Contacts of each other, with their direct conversation.
    for token, phone, other in ((sender_token, receiver_phone, receiver_id),
                                (receiver_token, sender_phone, sender_id)):
        contact = web.json("POST", "/api/v1/contacts", token, {"phone": phone}, (201, 409))
        if "contact" in contact and contact["contact"]["user"]["id"] != other:
            raise Failure(f"contact {phone} is {contact}")
    conversation = web.json("POST", "/api/v1/conversations", sender_token,
                            {"members": [receiver_id]}, (200, 201))["conversation"]["id"]

    lock = threading.Lock()
    pending = {}  # upload id -> the send's record, until the receiver has its thumbnail
    problems = []

    def on_message(message):
        arrived = time.monotonic()
        for attachment in message.get("attachments") or []:
            with lock:
                record = pending.pop(attachment["id"], None)
            if record is None:
                continue
            status, headers, body = web.call("GET", attachment["thumbnail_url"], receiver_token)
            record["event"], record["t1"] = arrived, time.monotonic()
            if status != 200 or headers["Content-Type"] != "image/jpeg" or not body:
                problems.append(f"thumbnail {attachment['id']}: {status}")
            record["done"].set()
        return True  # the ack: delivered

    clients = []
    try:
        for token, handler in ((sender_token, None), (receiver_token, on_message)):
            client = socketio.Client(reconnection=False)
            if handler:
                client.on("message", handler)
            client.connect(url, auth={"token": token}, transports=["websocket"],
                           wait_timeout=TIMEOUT)
            clients.append(client)
        emitting = threading.Lock()
        records = []

        def send(number):
            record = {"t0": time.monotonic(), "done": threading.Event()}
            upload = web.upload(sender_token, photos[number])
            record["uploaded"] = time.monotonic()
            with lock:
                pending[upload["id"]] = record
            acked, answer = threading.Event(), []
            payload = {"conversation_id": conversation, "body": "", "client_id": uuid.uuid4().hex,
                       "attachments": [upload["id"]]}
            with emitting:
                clients[0].emit("message:send", payload,
                                callback=lambda *args: (answer.append(args), acked.set()))
            if not acked.wait(TIMEOUT) or not answer[0] or not answer[0][0].get("ok"):
                raise Failure(f"message:send with upload {upload['id']}: {answer}")
            record["acked"] = time.monotonic()
            if not record["done"].wait(TIMEOUT):
                raise Failure(f"the receiver never saw upload {upload['id']}")
            records.append(record)

        # Open loop: send i starts at i / rate; the wait before it is the schedule.
        threads, failures = [], []

        def guarded(number):
            try:
                send(number)
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)

        window = Window(pid)
        begun = time.monotonic()
        for number in range(len(photos)):
            delay = begun + number / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            thread = threading.Thread(target=guarded, args=(number,), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join(TIMEOUT * 2)
        window.close()
        if failures or problems or len(records) != len(photos):
            raise Failure(f"{failures[:1]} {problems[:3]} {len(records)} of {len(photos)} seen")
    finally:
        for client in clients:
            client.disconnect()
    total = [r["t1"] - r["t0"] for r in records]
    return {
        "seen_sends": len(records), "seen_rate_per_s": round(rate, 2),
        "seen_p50_ms": ms(percentile(total, 50)), "seen_p99_ms": ms(percentile(total, 99)),
        "seen_max_ms": ms(max(total)),
        # Where the time goes (p50 of each step).
        "seen_upload_p50_ms": ms(percentile([r["uploaded"] - r["t0"] for r in records], 50)),
        "seen_send_ack_p50_ms": ms(percentile([r["acked"] - r["uploaded"] for r in records], 50)),
        "seen_event_p50_ms": ms(percentile([r["event"] - r["t0"] for r in records], 50)),
        "seen_thumbnail_get_p50_ms": ms(percentile([r["t1"] - r["event"] for r in records], 50)),
        "seen_server_cpu_cores": round(window.cpu / window.wall, 2),
        "seen_machine_busy_cores": round(window.busy / window.wall, 2),
    }


# -- the workload -----------------------------------------------------------------------------

def failing_as_one(measurement, *args):
    """measurement(*args), any error in it a Failure: one failed workload, not the whole run."""
    try:
        return measurement(*args)
    except Failure:
        raise
    except Exception as error:  # noqa: BLE001 - reported as the workload's failure
        raise Failure(f"{type(error).__name__}: {error}") from error


def run(server, sizes, label):
    """Runs the three measurements against `server` (bench/servers.py's Server, started with
    plan()'s flags); the result as parley-load writes it."""
    return failing_as_one(measure, server, sizes, label)


def measure(server, sizes, label):
    pid = server.pids[0]
    web = Http(server.url)
    with open(server.users_file) as stream:
        users = [line.split() for line in stream if line.strip()]
    # bench/run.py imports user n (from 1) with the phone +1415 (2000000 + n).
    users = [(int(user_id), token, f"+1415{2000000 + number}")
             for number, (user_id, token) in enumerate(users, start=1)]
    tokens = [token for _, token, _ in users[2:]]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    load = os.getloadavg()
    made = time.monotonic()
    photos, quality = make_photos(sizes["photos"] + sizes["sends"],
                                  os.path.join(server.directory, "photos"))
    made = time.monotonic() - made
    figures = {"load_average_1m": round(load[0], 2), "load_average_5m": round(load[1], 2)}
    figures.update(big_uploads(web, pid, tokens[:sizes["big_clients"]], sizes["big_bytes"]))
    figures.update(thumbnails(web, pid, tokens[:sizes["clients"]], photos[:sizes["photos"]]))
    rate = sizes["rate"] or min(10.0, figures["thumbnails_per_s"] / 2)
    figures.update(seen(web, server.url, pid, users[0], users[1], photos[sizes["photos"]:], rate))
    figures["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    sizes_on_disk = [os.path.getsize(path) for path in photos]
    parameters = dict(sizes, rate=sizes["rate"] or "half of thumbnails_per_s, at most 10",
                      photo_px=f"{WIDTH}x{HEIGHT}", jpeg_quality=quality,
                      photo_mean_bytes=round(sum(sizes_on_disk) / len(sizes_on_disk)),
                      photos_made_seconds=round(made, 1), rss_sample_ms=50)
    return {"workload": "media", "label": label, "date": date, "parameters": parameters,
            "figures": figures}
