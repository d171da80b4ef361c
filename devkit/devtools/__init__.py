"""Plumbing shared by the tools that run the service's processes: the demo, the benchmark,
the sandbox runner and the test fixtures."""
