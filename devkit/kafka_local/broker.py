"""LocalKafka: one KRaft broker in a child JVM, for tests and local runs."""

from __future__ import annotations

import atexit
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from kafka_local._tail import tail_files
from kafka_local.classpath import resolve_classpath
from kafka_local.config import (
    HOST,
    broker_properties,
    free_ports,
    new_cluster_id,
    read_properties,
    write_properties,
)
from kafka_local.errors import BrokerError
from kafka_local.jvm import (
    BROKER_JVM_OPTIONS,
    format_storage,
    java_command,
    signal_group,
    spawn,
    stop_group,
    wait_child,
)
from kafka_local.ready import wait_until_ready


class LocalKafka:
    """A single-node Kafka broker (KRaft, broker and controller in one JVM).

    Ports are fixed at construction and kept by restart(), so the bootstrap
    address never changes. Data lives in ``data_dir``: a temporary directory
    that close() deletes, unless a directory is given (then it is kept and
    reused, formatted only the first time).

        with LocalKafka() as kafka:
            run_tests_against(kafka.bootstrap_servers)

    Unless ``detach`` is set, the broker is stopped at interpreter exit, and
    on Linux killed if this process dies first (see kafka_local.jvm).
    ``detach=True`` is for the CLI daemon, which must outlive the CLI.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        properties: Mapping[str, str] | None = None,
        startup_timeout_s: float = 60.0,
        detach: bool = False,
        sasl_users: Mapping[str, str] | None = None,
    ) -> None:
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(
            tempfile.mkdtemp(prefix="kafka-local-") if data_dir is None else data_dir
        ).resolve()
        picked = free_ports(3)
        self.port = port or picked[0]
        self.controller_port = controller_port or picked[1]
        # With users, a SASL_PLAINTEXT (PLAIN) listener on a port of its own as well.
        self.sasl_users = dict(sasl_users) if sasl_users else None
        self.sasl_port = picked[2] if sasl_users else None
        self._extra_properties = dict(properties or {})
        self._startup_timeout_s = startup_timeout_s
        self._detach = detach
        self._classpath: list[Path] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        if not detach:
            atexit.register(self.close)

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def sasl_bootstrap_servers(self) -> str:
        """The SASL_PLAINTEXT listener's address (only with ``sasl_users``)."""
        if self.sasl_port is None:
            raise ValueError("this broker has no SASL listener: pass sasl_users")
        return f"{HOST}:{self.sasl_port}"

    @property
    def pid(self) -> int | None:
        """The broker JVM's pid (also its process group id) while it runs."""
        return self._process.pid if self.is_running() and self._process else None

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def output_file(self) -> Path:
        """The JVM's stdout and stderr (log4j2 writes to ``logs/server.log``)."""
        return self.data_dir / "kafka.out"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the broker and wait until it serves metadata; no-op if running."""
        if self.is_running():
            return
        if self._classpath is None:
            self._classpath = resolve_classpath()
        cluster_id = self._prepare_data_dir(self._classpath)
        command = java_command(
            self._classpath,
            "kafka.Kafka",
            [str(self.properties_file)],
            logs_dir=self.logs_dir,
            options=BROKER_JVM_OPTIONS,
        )
        self._process = spawn(
            command, cwd=self.data_dir, output=self.output_file, detach=self._detach
        )
        try:
            wait_until_ready(
                self._process,
                self.port,
                cluster_id,
                timeout_s=self._startup_timeout_s,
                log_tail=self.log_tail,
            )
        except BrokerError:
            self.kill()
            raise

    def _prepare_data_dir(self, classpath: list[Path]) -> str:
        """Write server.properties, format storage if new; return the cluster id."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log_dir = self.data_dir / "kraft"
        properties = broker_properties(
            port=self.port,
            controller_port=self.controller_port,
            log_dir=log_dir,
            extra=self._extra_properties,
            sasl_port=self.sasl_port,
            sasl_users=self.sasl_users,
        )
        write_properties(self.properties_file, properties)
        meta = log_dir / "meta.properties"
        if not meta.is_file():
            format_storage(
                classpath, self.properties_file, new_cluster_id(), logs_dir=self.logs_dir
            )
        return read_properties(meta)["cluster.id"]

    def stop(self, timeout_s: float = 30.0) -> None:
        """Shut the broker down cleanly (SIGTERM), SIGKILL it after timeout_s."""
        process, self._process = self._process, None
        if process is not None:
            stop_group(process.pid, wait_child(process), timeout_s)

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would; data already written survives."""
        process, self._process = self._process, None
        if process is not None:
            signal_group(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self) -> None:
        """Stop (if running) and start again on the same ports and data."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the broker and delete the data directory if it is ours."""
        self.stop()
        atexit.unregister(self.close)
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self) -> str:
        return tail_files(self.output_file, self.logs_dir / "server.log")

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalKafka({self.bootstrap_servers}, data_dir='{self.data_dir}', pid={self.pid})"
