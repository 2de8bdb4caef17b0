"""PostgreSQL 15 and Redis 7 of their own for end-to-end tests (scripts/test-services.sh).

The ``services`` ctest fixture's instances are shared by every test of the run; a test that
stops, crashes or restarts a server starts its own instead::

    with TestServices() as services:            # fresh, ready, on free loopback ports
        ParleyServer(..., env={"PARLEY_DATABASE_URL": services.postgres_url, ...})
        services.stop_postgres()                # fast shutdown; "immediate" = a crash
        services.start_postgres()               # same port, same data
        services.restart_redis()                # same port; data kept only with redis_persist

``shared()`` reads the fixture's instance (PARLEY_TEST_SERVICES) for tests that only use it.
Every wait is the script's: it polls readiness until a deadline and fails with the log's tail.
"""

import os
import subprocess
import tempfile

SCRIPT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "test-services.sh"
)
TIMEOUT = 180  # seconds; only reached when something is broken


def _read(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8") as file:
        return file.read().strip()


class TestServices:
    """A private PostgreSQL + Redis; ``stop()`` (or leaving the ``with``) removes everything."""

    def __init__(self, directory=None, redis_persist=False):
        self.directory = directory or tempfile.mkdtemp(prefix="parley-e2e-services-")
        self.redis_persist = redis_persist
        self.postgres_url = None
        self.redis_url = None

    def _run(self, command, *arguments):
        subprocess.run(
            ["bash", SCRIPT, command, self.directory, *arguments],
            check=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT,
        )

    def start(self):
        self._run("start", *(["--redis-persist"] if self.redis_persist else []))
        self.postgres_url = _read(self.directory, "postgres.url")
        self.redis_url = _read(self.directory, "redis.url")
        return self

    def stop(self):
        self._run("stop")

    def stop_postgres(self, mode="fast"):
        self._run("stop-postgres", mode)

    def start_postgres(self):
        self._run("start-postgres")

    def stop_redis(self):
        self._run("stop-redis")

    def start_redis(self):
        self._run("start-redis")

    def restart_redis(self):
        self._run("restart-redis")

    def pid(self, service):
        """The PID of "postgres" or "redis" (e.g. to SIGKILL it in a failure test)."""
        return int(_read(self.directory, service + ".pid"))

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


def shared():
    """(postgres_url, redis_url) of the ``services`` fixture: never stop or restart these."""
    directory = os.environ.get("PARLEY_TEST_SERVICES")
    if not directory:
        raise RuntimeError(
            "PARLEY_TEST_SERVICES is not set: the test must require the `services` ctest "
            "fixture (parley_require_services), or use its own TestServices()"
        )
    return _read(directory, "postgres.url"), _read(directory, "redis.url")
