"""A real Apache Kafka broker for tests and local runs, without Docker.

The usual way to get a throwaway broker is a container (testcontainers), but
the machines this project is developed and tested on have no Docker engine.
They do have a JDK and Maven, and Kafka's broker is an ordinary Java program,
so kafka_local:

1. resolves the broker's jars (``org.apache.kafka:kafka_2.13``, see pom.xml)
   with Maven once and caches the classpath (kafka_local.classpath);
2. writes a single-node KRaft server.properties tuned for tests and formats
   the data directory the first time (kafka_local.config, kafka_local.jvm);
3. runs ``kafka.Kafka`` as a child JVM and waits until it serves metadata
   (kafka_local.broker, kafka_local.ready).

    from kafka_local import LocalKafka

    with LocalKafka() as kafka:
        print(kafka.bootstrap_servers)  # 127.0.0.1:<free port>
        kafka.restart()                 # same address, same data

From a shell: ``python -m kafka_local start|stop|status --data-dir .local/kafka``.
"""

from kafka_local.broker import LocalKafka
from kafka_local.classpath import resolve_classpath
from kafka_local.errors import (
    BrokerError,
    BrokerExited,
    BrokerStartTimeout,
    ClasspathError,
    KafkaLocalError,
    StorageFormatError,
    ToolNotFound,
)

__all__ = [
    "BrokerError",
    "BrokerExited",
    "BrokerStartTimeout",
    "ClasspathError",
    "KafkaLocalError",
    "LocalKafka",
    "StorageFormatError",
    "ToolNotFound",
    "resolve_classpath",
]
