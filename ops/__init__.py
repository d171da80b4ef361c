"""Read-only tools for operators, analysts and support, over what the service has written.

* ``vitally-sync audit``: per-tenant counts of audit records by outcome and reason.
* ``vitally-sync why``: one conversation's audit trail, with the fix for each reason.

They read Kafka with confluent-kafka and the record shapes from :mod:`schemas`; they need no
secrets, join no consumer group, commit nothing and create no topics.
"""
