"""Unthread's API auth: a service-account key in the `X-Api-Key` header.

No header, or a key no tenant has -> 401; a key of a deactivated service account -> 403.
"""

from __future__ import annotations

from sandboxkit.gateway import fingerprint as fingerprint

KEY_HEADER = "x-api-key"
MISSING_KEY = {"error": "Missing X-Api-Key header"}
UNAUTHORIZED = {"error": "Invalid API key"}
FORBIDDEN = {"error": "This API key is disabled"}
