"""What every HTTP API client of ours shares: the error tree, the call value, the retry policy
and the send loop (pacing, retries, transport errors). `vitally` and `unthread` name their own
classes and endpoints on top of it."""
