"""schemathesis against the service's OpenAPI document: no JSON endpoint answers 5xx."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from .conftest import TOKEN, build_test_parts


def test_no_json_endpoint_answers_5xx(tmp_path: Path) -> None:
    from sallakit.server._build import service_app

    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", service_app(build_test_parts(tmp_path))
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"GET /api/stores", "POST /api/deliveries/replay", "GET /healthz"} <= labels
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error]
            )

        check()
