"""Errors raised by kafka_local.

* KafkaLocalError
  x ToolNotFound           .tool: ``java`` or ``mvn`` is not installed
  x ClasspathError         .output_tail: Maven could not resolve the broker's jars
  x BrokerError            .log_tail: the broker did not come up
    + StorageFormatError   .exit_code: ``kafka-storage format`` failed
    + BrokerExited         .exit_code: the JVM died while starting (bad config, port taken)
    + BrokerStartTimeout   .timeout_s: alive but not ready in time

Each message carries the tail of the relevant output, so a failing test shows
why without anyone opening the data directory.
"""

from __future__ import annotations


class KafkaLocalError(Exception):
    """Base class: anything that stops kafka_local from providing a broker."""


class ToolNotFound(KafkaLocalError):
    """A program kafka_local shells out to is missing from PATH (or JAVA_HOME)."""

    def __init__(self, tool: str) -> None:
        super().__init__(f"{tool!r} not found: install it or put it on PATH")
        self.tool = tool


class ClasspathError(KafkaLocalError):
    """``mvn dependency:build-classpath`` failed or produced no classpath."""

    def __init__(self, message: str, output_tail: str) -> None:
        super().__init__(f"{message}\n--- maven output (tail) ---\n{output_tail}")
        self.output_tail = output_tail


class BrokerError(KafkaLocalError):
    """The broker did not come up; ``log_tail`` holds its last output lines."""

    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(f"{message}\n--- broker output (tail) ---\n{log_tail}")
        self.log_tail = log_tail


class StorageFormatError(BrokerError):
    """Formatting the KRaft metadata directory failed."""

    def __init__(self, exit_code: int, log_tail: str) -> None:
        super().__init__(f"kafka storage format exited with {exit_code}", log_tail)
        self.exit_code = exit_code


class BrokerExited(BrokerError):
    """The broker JVM exited before it was ready."""

    def __init__(self, exit_code: int, log_tail: str) -> None:
        super().__init__(f"kafka broker exited with {exit_code} while starting", log_tail)
        self.exit_code = exit_code


class BrokerStartTimeout(BrokerError):
    """The broker JVM is alive but did not serve metadata within the timeout."""

    def __init__(self, timeout_s: float, log_tail: str) -> None:
        super().__init__(f"kafka broker not ready after {timeout_s:.0f}s", log_tail)
        self.timeout_s = timeout_s
