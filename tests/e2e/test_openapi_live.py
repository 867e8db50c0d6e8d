"""schemathesis against a running ``sallakit serve`` (real processes: the service and the
emulator, an installed store, the mirror's worker running): no JSON endpoint answers 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from ._stack import ADMIN_TOKEN, running_stack

pytestmark = pytest.mark.e2e


def test_the_running_service_answers_no_5xx(tmp_path: Path) -> None:
    with running_stack(tmp_path, products=10, orders=4) as stack:
        stack.install()
        schema = schemathesis.openapi.from_url(f"{stack.service_url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {"GET /api/stores", "POST /api/stores/{store_id}/sync", "GET /readyz"} <= {
            op.label for op in operations
        }
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=5,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                parameters = case.path_parameters or {}
                # Half the cases aim at the installed store, not only at random ids.
                if "store_id" in parameters and parameters["store_id"] % 2 == 0:
                    parameters["store_id"] = stack.store_id
                case.call_and_validate(
                    headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
                    checks=[not_a_server_error],
                    timeout=30,
                )

            check()
