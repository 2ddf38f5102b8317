"""The package layout: every package exports what it says, lower packages never import higher ones,
inference never imports training, the web server never imports TensorFlow, and every exception the
project raises is a `DFEError`."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import DFEError

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
# Lowest first: a package may import itself and those before it, never one after it.
LAYERS = ("common", "video", "flow", "model", "weights", "registry", "features", "evaluation", "viz",
          "training", "batch", "app", "cli")
PACKAGES = sorted(p.name for p in CORE.iterdir() if (p / "__init__.py").is_file())
# argparse's own protocol for option types: argparse turns it into a usage message.
NOT_PROJECT_ERRORS = {"argparse.ArgumentTypeError"}


def core_modules() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if p.name != "__main__.py")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imported_packages(path: Path) -> set[str]:
    """The `core` packages that a module imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        found |= {name.split(".")[1] for name in names if name.startswith("core.") and name.count(".") >= 1}
    return found


def test_every_package_is_a_layer_and_says_what_it_holds():
    assert set(PACKAGES) == set(LAYERS)
    for package in PACKAGES:
        module = importlib.import_module(f"core.{package}")
        assert module.__doc__ and len(module.__doc__.strip().splitlines()) == 1, package
        for name in module.__all__:
            assert getattr(module, name) is not None, f"core.{package}.{name}"


@pytest.mark.parametrize("package", LAYERS)
def test_packages_import_only_lower_layers(package):
    allowed = set(LAYERS[:LAYERS.index(package) + 1])
    for path in sorted((CORE / package).rglob("*.py")):
        higher = imported_packages(path) & set(LAYERS) - allowed
        assert not higher, f"{path.relative_to(ROOT)} imports the higher package(s) {sorted(higher)}"


def loaded_modules(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after `statement`."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_inference_never_imports_training():
    loaded = loaded_modules("from core.features.extractor import DynamicFeatureExtractor")
    assert "tensorflow" in loaded  # the statement did run the model code
    assert not {m for m in loaded if m.startswith(("core.training", "core.evaluation"))}


def test_the_web_servers_imports_never_load_tensorflow():
    pages = " ".join(f"dashboard/views/{p.name}" for p in sorted((ROOT / "dashboard" / "views").glob("*.py")))
    statement = ("import ast, importlib\n"
                 f"for page in {pages.split()!r}:\n"
                 "    for node in ast.walk(ast.parse(open(page).read())):\n"
                 "        if isinstance(node, ast.ImportFrom) and node.module.startswith(('core', 'dashboard.common')):\n"
                 "            importlib.import_module(node.module)\n"
                 "import core.app.runner")
    loaded = loaded_modules(statement)
    assert "core.app.workspace" in loaded and "core.app.runner" in loaded
    assert "tensorflow" not in loaded and "keras" not in loaded


def test_the_command_lines_help_never_loads_tensorflow():
    """Every command's parser is built for any command, `--help` included: its defaults (the
    curriculum recipe's among them) come from modules without Keras."""
    loaded = loaded_modules("from core.cli.main import build_parser\nbuild_parser()")
    assert "core.cli.weights" in loaded and "core.training.recipe" in loaded
    assert "tensorflow" not in loaded and "keras" not in loaded


def raised_names(path: Path) -> list[tuple[int, str]]:
    """(line, exception expression) of every `raise X(...)` in a module."""
    return [(node.lineno, ast.unparse(node.exc.func)) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)]


def test_every_exception_the_project_raises_is_a_dfe_error():
    offenders = []
    for path in core_modules():
        namespace = vars(importlib.import_module(module_name(path)))
        for line, name in raised_names(path):
            if name in NOT_PROJECT_ERRORS:
                continue
            raised = eval(name, namespace)  # the class the module raises, as the module sees it
            if not (isinstance(raised, type) and issubclass(raised, DFEError)):
                offenders.append(f"{path.relative_to(ROOT)}:{line} raises {name}")
    assert not offenders, "\n".join(offenders)
