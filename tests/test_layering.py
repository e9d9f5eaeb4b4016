"""The import graph keeps SPEC 2's layering (import-linter's contracts in pyproject.toml, also run by .ci/run)."""

import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
SPEC_ORDER = ["console", "player", "alerts : stats", "devices", "broadcasts", "ads", "media", "screens", "places"]


def test_the_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(no_cache=True, no_logo=True) == 0


def test_the_layers_contract_is_spec_2_app_order_and_covers_every_app():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(contract for contract in config["contracts"] if contract["type"] == "layers")
    assert layers["layers"] == [*SPEC_ORDER, "accounts"]
    assert layers["exhaustive"] is True  # a new app must take its place in the order
    forbidden = {tuple(c["source_modules"]): c for c in config["contracts"] if c["type"] == "forbidden"}
    assert "apps" in forbidden[("signage",)]["forbidden_modules"]
    assert "signage.api" in forbidden[("apps.*.services", "apps.**.services")]["forbidden_modules"]
