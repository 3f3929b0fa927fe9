"""The import arrows of docs/architecture.md: front doors -> services -> host facade -> core; plugins -> api only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import ROOT

HOST = ROOT / "opus1_integrations"
PLUGIN_PACKAGES = [ROOT / "plugins" / "mailchimp" / "opus1_mailchimp", ROOT / "examples" / "csv_export"]
FRONT_DOORS = ("opus1_integrations.cli", "opus1_integrations.web")
FACADE = ("opus1_integrations.host", "opus1_integrations.integration", "opus1_integrations.plugins",
          "opus1_integrations.hookspecs")
SERVICES = ("opus1_integrations.services",)
PLUGIN_NAMES = ("opus1_mailchimp", "opus1_csv_export")
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(HOST.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports, anywhere in it (functions included), as absolute names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def host_modules() -> dict[str, set[str]]:
    return {module_name(p): imports(p, module_name(p)) for p in HOST.rglob("*.py")}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def layer(name: str) -> str:
    if within(name, FRONT_DOORS):
        return "front door"
    if within(name, SERVICES):
        return "services"
    if within(name, FACADE):
        return "facade"
    if name in ("opus1_integrations.api", "opus1_integrations.testing"):
        return "api"
    return "core"


ALLOWED = {
    "core": {"core"},
    "facade": {"core", "facade"},
    "services": {"core", "facade", "services"},
    "front door": {"core", "facade", "services", "front door"},
    "api": {"core", "facade", "front door"},  # api.run_command and testing run the CLI
}


def test_plugins_import_only_the_public_api_from_the_host():
    for package in PLUGIN_PACKAGES:
        for path in package.rglob("*.py"):
            used = {m for m in imports(path, "plugin") if within(m, ("opus1_integrations",))}
            assert used <= {"opus1_integrations", "opus1_integrations.api"} | {
                m for m in used if m.startswith("opus1_integrations.api.")}, f"{path}: {sorted(used)}"


def test_the_host_never_imports_a_plugin():
    for name, used in host_modules().items():
        assert not {m for m in used if within(m, PLUGIN_NAMES)}, name


def test_every_import_arrow_points_down_the_layers():
    for name, used in host_modules().items():
        for target in used:
            if not within(target, ("opus1_integrations",)) or target == "opus1_integrations":
                continue
            if layer(target) == "front door" and layer(name) == "front door":
                continue
            assert layer(target) in ALLOWED[layer(name)], f"{name} ({layer(name)}) imports {target}"


def test_the_front_doors_do_not_import_each_other_except_to_start_the_web_app():
    for name, used in host_modules().items():
        if within(name, ("opus1_integrations.web",)):
            assert not {m for m in used if within(m, ("opus1_integrations.cli",))}, name
        if within(name, ("opus1_integrations.cli",)) and name != "opus1_integrations.cli.web":
            assert not {m for m in used if within(m, ("opus1_integrations.web",))}, name


@pytest.mark.parametrize("root", [HOST, *PLUGIN_PACKAGES], ids=lambda p: p.name)
def test_no_module_is_over_300_lines_without_a_reason_at_its_top(root):
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES:
            head = ast.get_docstring(ast.parse(text)) or ""
            assert "300 lines" in head, f"{path} has {text.count(chr(10))} lines and no reason at its top"
