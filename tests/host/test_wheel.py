"""The schemas in schemas/ ship inside the installed package: checked on a freshly built wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from .conftest import ROOT


def test_the_wheel_holds_the_schemas_and_the_package(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=120,
    )
    [wheel] = tmp_path.glob("opus1_integrations-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "opus1_integrations/schemas/opus1-accounts.schema.json" in names
    shipped = {n.removeprefix("opus1_integrations/") for n in names if n.startswith("opus1_integrations/schemas/")}
    assert shipped == {f"schemas/{p.name}" for p in (ROOT / "schemas").iterdir() if p.is_file()}
    assert {"opus1_integrations/api.py", "opus1_integrations/cli/main.py", "opus1_integrations/hookspecs.py"} <= names
    assert not any(n.startswith(("plugins/", "tests/", "examples/", "bench/")) for n in names)
