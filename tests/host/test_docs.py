"""The docs cannot drift: hooks, exit codes, commands and options, the README's commands, the tutorial's tests."""

from __future__ import annotations

import inspect
import re
import shlex
import subprocess
import sys

import pytest

from opus1_integrations import errors, hookspecs
from opus1_integrations.cli import make_cli
from opus1_integrations.exit_codes import ExitCode
from opus1_integrations.plugins import Plugins

from .conftest import ROOT, Recorder

DOCS = ROOT / "docs"


def hook_specs() -> dict[str, object]:
    return {
        name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "opus1_integrations_spec")
    }


def sections(text: str, level: str = "### ") -> dict[str, str]:
    """Markdown sections by heading text (without the hashes)."""
    parts = re.split(rf"^{re.escape(level)}(.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def code_blocks(text: str, language: str | None = None) -> list[str]:
    return [
        body for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S)
        if language is None or lang == language
    ]


# -- hooks.md ---------------------------------------------------------------------------------


def test_every_hook_is_documented_with_its_exact_signature_and_nothing_else():
    documented = {}
    for heading in sections((DOCS / "hooks.md").read_text()):
        match = re.fullmatch(r"`(\w+)(\(.*\))`", heading)
        if match:
            documented[match[1]] = match[2]
    specs = hook_specs()
    assert len(specs) >= 9
    assert documented == {name: str(inspect.signature(fn)) for name, fn in specs.items()}


def test_every_hook_section_carries_its_docstring_summary():
    hooks_md = sections((DOCS / "hooks.md").read_text())
    texts = {heading.split("(")[0].strip("`"): body for heading, body in hooks_md.items()}
    for name, fn in hook_specs().items():
        summary = inspect.getdoc(fn).splitlines()[0].replace("``", "`")
        assert summary in " ".join(texts[name].split()), f"{name}: docs/hooks.md lost {summary!r}"


def test_every_hook_is_exercised_by_a_host_test():
    tests = "".join(p.read_text() for p in (ROOT / "tests" / "host").glob("*.py"))
    for name in hook_specs():
        assert re.search(rf"def {name}\(self", tests), f"no host test implements the {name} hook"


# -- cli.md -----------------------------------------------------------------------------------


def exit_codes_in_code() -> set[int]:
    """Every exit code a command can return: the ``ExitCode`` members, which every error class must use."""
    classes, todo = set(), [errors.Opus1Error]
    while todo:
        cls = todo.pop()
        classes.add(cls)
        todo += cls.__subclasses__()
    assert all(isinstance(c.exit_code, ExitCode) for c in classes)
    sources = "".join(p.read_text() for p in (ROOT / "opus1_integrations").rglob("*.py"))
    assert not re.findall(r"Exit\(\d+\)", sources), "exit with an ExitCode, not a number"
    return {int(code) for code in ExitCode}


def exit_codes_in_docs() -> set[int]:
    table = (DOCS / "cli.md").read_text().split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    return {int(code) for code in re.findall(r"^\| (\d+) \|", table, flags=re.M)}


def test_every_exit_code_is_in_the_table_and_nothing_else():
    assert exit_codes_in_docs() == exit_codes_in_code() == {0, 1, 2, 3, 4, 5, 6, 130}


def host_cli():
    plugins = Plugins()
    plugins.register(Recorder({"type": "object", "properties": {"api_key": {"type": "string", "writeOnly": True}}}),
                     "thing")
    return make_cli(plugins)


def command_sections() -> dict[str, str]:
    """cli.md's sections by command name, from headings like ### `opus1-int sync INTEGRATION [OPTIONS]`."""
    found = {}
    for heading, body in sections((DOCS / "cli.md").read_text()).items():
        match = re.match(r"`opus1-int ([\w-]+)", heading)
        if match:
            found[match[1]] = heading + body
    return found


def mentions(text: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def long_options(command) -> set[str]:
    return {
        opt for param in command.params if param.param_type_name == "option"
        for opt in [*param.opts, *param.secondary_opts] if opt.startswith("--") and opt != "--help"
    }


def test_every_top_level_command_has_a_section_and_every_section_a_command():
    group = host_cli()
    documented = set(command_sections())
    assert set(group.commands) | {"--version"} == documented
    assert "thing" not in group.commands  # a plugin without commands adds none


def test_every_option_of_every_command_is_documented_in_its_section():
    group = host_cli()
    documented = command_sections()
    for name, command in group.commands.items():
        if name == "configure":
            continue
        for sub in getattr(command, "commands", {}).values() or [command]:
            for opt in long_options(sub):
                assert mentions(documented[name], opt), f"docs/cli.md: `opus1-int {name}` does not document {opt}"
    configure = group.commands["configure"].get_command(None, "thing")
    for opt in long_options(configure) - {"--api-key", "--api-key-env"}:  # generated from the schema
        assert mentions(documented["configure"], opt), f"docs/cli.md: configure does not document {opt}"
    assert "--SECRET-env" in documented["configure"]


@pytest.mark.parametrize("variable", ["OPUS1_INT_HOME", "OPUS1_INT_LOAD_PLUGINS", "OPUS1_INT_DEBUG"])
def test_every_environment_variable_is_documented(variable):
    table = (DOCS / "cli.md").read_text().split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    assert f"| `{variable}` |" in table


# -- README -----------------------------------------------------------------------------------


def readme_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    commands = []
    for block in code_blocks(readme):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["opus1-int"]:
                commands.append(words[1:])
    return commands


def test_readme_commands_exist_with_their_options():
    if not (ROOT / "README.md").read_text().strip():
        pytest.skip("README.md is empty")
    commands = readme_commands()
    assert commands
    group = make_cli()  # the installed plugins, whose commands the README may use
    for words in commands:
        command, path = group, ["opus1-int"]
        rest = list(words)
        while rest and hasattr(command, "get_command") and not rest[0].startswith("-"):
            path.append(rest.pop(0))
            command = command.get_command(None, path[-1])
            assert command is not None, f"README: {' '.join(path)} is not a command"
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in long_options(command), f"README: {' '.join(path)} has no {word}"


# -- plugins.md -------------------------------------------------------------------------------


def test_the_tutorials_tests_pass(tmp_path):
    """The tutorial's test code (docs/plugins.md, section 4) runs as written against the example plugin."""
    tutorial = sections((DOCS / "plugins.md").read_text(), "## ")["4. Test it"]
    test_file = tmp_path / "test_tutorial.py"
    test_file.write_text("\n".join(code_blocks(tutorial, "python")))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_every_name_of_the_public_api_is_documented_and_nothing_else():
    from opus1_integrations import api

    table = sections((DOCS / "plugins.md").read_text())["The public API"]
    documented = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.M))
    assert documented == set(api.__all__)


def test_the_tutorials_hook_code_is_the_example_plugins_code():
    """Each hook shown in docs/plugins.md, section 2, is the example plugin's function, as written."""
    import opus1_csv_export

    shown = sections((DOCS / "plugins.md").read_text(), "## ")["2. The hooks"]
    hooks = [block for block in code_blocks(shown, "python") if "@hookimpl\ndef " in block]
    functions = [f for block in hooks for f in re.split(r"\n\n\n(?=@hookimpl)", block.strip())]
    assert len(functions) >= 5
    for function in functions:
        name = re.search(r"^def (\w+)\(", function, flags=re.M)[1]
        if name in ("register_commands", "migrations", "show", "m001_sent"):
            continue  # shown as a sketch of what the example does not need
        assert function.strip() == inspect.getsource(getattr(opus1_csv_export, name)).strip(), name
