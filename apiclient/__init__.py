"""What every HTTP API client of ours shares: the error tree, the call value, the retry policy
and the send loop (pacing, retries, transport errors), the HTTP client and its connection pool,
and per-tenant pacing. Each API's package names its own classes, reasons and endpoints on top
of it; nothing here knows one API from another."""
