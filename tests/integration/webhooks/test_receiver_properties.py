"""Property: whatever body and headers arrive, the receiver never answers 5xx, and it stores a
row only for a delivery that verified (and parsed).

The receiver is called as a raw ASGI app, so the headers can be anything a client can send:
a bogus ``Content-Length``, several signatures, a strategy header that lies.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sallakit.webhooks import MemoryInbox, WebhookReceiver, compute_signature

from .conftest import SECRET, TestCipher

header_names = st.sampled_from(
    [
        "x-salla-signature",
        "authorization",
        "x-salla-security-strategy",
        "content-length",
        "content-type",
        "x-anything",
    ]
) | st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), min_size=1)
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(
            ["order.created", "app.store.authorize", "app.installed", "", "a..b", "x" * 200]
        )
        | st.text(max_size=20),
        "merchant": st.integers(min_value=-(2**70), max_value=2**70) | json_values,
        "created_at": json_values,
        "data": json_values,
    },
).map(lambda doc: json.dumps(doc).encode())
bodies = envelopes | st.binary(max_size=300)


def _call(receiver: WebhookReceiver, body: bytes, headers: list[tuple[str, str]]) -> int:
    sent: list[dict[str, Any]] = []
    chunks = [body[:7], body[7:]] if len(body) > 7 else [body]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/salla",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }
    anyio.run(receiver, scope, receive, send)
    return int(sent[0]["status"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies,
    headers=st.lists(st.tuples(header_names, header_values), max_size=6),
    sign=st.sampled_from(["none", "signature", "token", "wrong"]),
)
def test_never_5xx_and_nothing_stored_unless_verified(
    body: bytes, headers: list[tuple[str, str]], sign: str
) -> None:
    inbox = MemoryInbox(cipher=TestCipher())
    receiver = WebhookReceiver(inbox, SECRET, max_body_size=4096)
    sent = list(headers)
    if sign == "signature":
        sent = [
            h
            for h in sent
            if h[0].lower() not in ("x-salla-signature", "x-salla-security-strategy")
        ]
        sent.append(("X-Salla-Signature", compute_signature(body, SECRET)))
    elif sign == "token":
        sent = [
            h
            for h in sent
            if h[0].lower()
            not in ("authorization", "x-salla-security-strategy", "x-salla-signature")
        ]
        sent.append(("Authorization", SECRET))
    elif sign == "wrong":
        sent.append(("X-Salla-Signature", compute_signature(body, "not-the-secret")))
    status = _call(receiver, body, sent)
    assert status < 500, status
    rows = sum(inbox.counts().values())
    if status == 200:
        # Stored, and only because it verified: random headers cannot guess the secret or an
        # HMAC keyed with it.
        assert rows == 1 and sign in ("signature", "token")
    else:
        assert rows == 0
