"""The sans-I/O core of the API client.

Everything here decides and nothing waits: request building, response and error interpretation,
retry decisions, pagination bookkeeping and rate-limit arithmetic are pure functions or small
classes over plain values (``now`` is always passed in). The async client and the sync client
generated from it are thin shells that do the I/O and the sleeping around these decisions.
"""

from __future__ import annotations

from sallakit.api._core._errors import (
    classify_unauthorized,
    map_status_error,
    map_transport_error,
    parse_body,
)
from sallakit.api._core._pagination import PageInfo, PageWalker, parse_page_info
from sallakit.api._core._ratelimit import (
    CUSTOMERS_BUDGET,
    Bucket,
    RateLimitHeaders,
    RateLimitState,
    SlidingWindow,
    is_customers_path,
    parse_rate_limit_headers,
)
from sallakit.api._core._request import (
    build_headers,
    build_path,
    encode_params,
    user_agent,
)
from sallakit.api._core._retry import (
    IDEMPOTENT_METHODS,
    RETRYABLE_STATUSES,
    RetryDecision,
    RetryPolicy,
    backoff_delay,
    decide_retry,
    parse_retry_after,
)

__all__ = [
    "CUSTOMERS_BUDGET",
    "IDEMPOTENT_METHODS",
    "RETRYABLE_STATUSES",
    "Bucket",
    "PageInfo",
    "PageWalker",
    "RateLimitHeaders",
    "RateLimitState",
    "RetryDecision",
    "RetryPolicy",
    "SlidingWindow",
    "backoff_delay",
    "build_headers",
    "build_path",
    "classify_unauthorized",
    "decide_retry",
    "encode_params",
    "is_customers_path",
    "map_status_error",
    "map_transport_error",
    "parse_body",
    "parse_page_info",
    "parse_rate_limit_headers",
    "parse_retry_after",
    "user_agent",
]
