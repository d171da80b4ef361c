"""The CLI's parts that are not the command table itself (:mod:`streams.cli` stays the entry
module): one-line errors, the environment each command reads, the worker's start, replay."""
