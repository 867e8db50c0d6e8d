"""``sallakit sync status`` and ``sallakit export`` over a mirror filled by a sync."""

from __future__ import annotations

import csv
import io
import json

import anyio
import pytest
from typer.testing import CliRunner

from sallakit.auth import TokenVault, generate_key
from sallakit.cli import app
from sallakit.db import create_engine, migrate
from sallakit.mirror import SQLMirrorStore
from tests.integration.mirror.conftest import make_mirror, new_emulator


@pytest.fixture
def filled(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/m.db"
    key = generate_key()
    engine = create_engine(url)
    TokenVault(engine, [key])
    migrate(engine)
    emulator = new_emulator(products=30, orders=5, customers=10)
    store_id = emulator.stores[0].id
    mirror = make_mirror(emulator, SQLMirrorStore(engine), resources=("products", "orders"))
    run = anyio.run(mirror.sync, store_id)
    assert run.status == "succeeded"
    monkeypatch.setenv("SALLAKIT_DATABASE_URL", url)
    monkeypatch.setenv("SALLAKIT_TOKEN_KEYS", key)
    return store_id, tmp_path


def test_status_json(filled):
    store_id, _ = filled
    result = CliRunner().invoke(app, ["sync", "status", "--json"])
    assert result.exit_code == 0, result.output
    (status,) = json.loads(result.output)
    assert status["store_id"] == store_id
    assert status["resources"]["products"]["rows"] == 30
    assert status["last_run"]["status"] == "succeeded"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export(filled, fmt):
    store_id, tmp_path = filled
    out = tmp_path / f"products.{fmt}"
    result = CliRunner().invoke(
        app, ["export", "products", "--store", str(store_id), "--format", fmt, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(out).to_pylist()
    assert len(rows) == 30
    first = rows[0]
    data = first["data"] if fmt == "jsonl" else json.loads(first["data"])
    assert int(data["id"]) == int(first["id"])


def test_export_refuses_an_unknown_table(filled):
    store_id, _ = filled
    result = CliRunner().invoke(app, ["export", "nope", "--store", str(store_id)])
    assert result.exit_code == 1
