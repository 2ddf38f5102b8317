"""`python -m core models ...`: the model registry from the command line."""

from __future__ import annotations

import argparse
import getpass
import json
import os
from pathlib import Path

from core.cli.common import UsageError
from core.registry.versions import MODEL_NAME, ModelRegistry
from core.registry.summary import version_rows
from core.app.audit import AuditLog
from core.app.settings import load_settings
from core.app.workspace import Workspace


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list, inspect, export and manage model versions",
                                   description="The versioned model registry (default folder: "
                                               "DFE_MODEL_DIR or config/app.yaml model_dir).")
    parser.add_argument("--base_dir", default=None, help="registry folder")
    parser.add_argument("--model_name", default=MODEL_NAME)
    actions = parser.add_subparsers(dest="action", required=True, metavar="<action>")
    actions.add_parser("list", help="versions with their date, author, aliases, tags, size")
    show = actions.add_parser("show", help="the metadata of a version (JSON)")
    show.add_argument("version", nargs="?", default="latest", help="version, alias or 'latest'")
    load = actions.add_parser("load", help="load a version (checks every sha256) and print its summary")
    load.add_argument("version", nargs="?", default="latest")
    export = actions.add_parser("export", help="write a TensorFlow SavedModel of a version")
    export.add_argument("version", nargs="?", default="latest")
    export.add_argument("--export_dir", help="default: inside the version folder (saved_model/)")
    alias = actions.add_parser("alias", help="set or move an alias (e.g. production), or remove it")
    alias.add_argument("alias")
    alias.add_argument("version", nargs="?", help="the version to point at; omit with --remove")
    alias.add_argument("--remove", action="store_true")
    tag = actions.add_parser("tag", help="add or remove tags of a version")
    tag.add_argument("version")
    tag.add_argument("--add", nargs="*", default=[])
    tag.add_argument("--remove", nargs="*", default=[])
    delete = actions.add_parser("delete", help="delete a version for good (its name is never reused)")
    delete.add_argument("version")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    imported = actions.add_parser("import", help="import a legacy full-model .h5 as a new version")
    imported.add_argument("path")
    imported.add_argument("--description", default=None)
    parser.set_defaults(run=run)


def _print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def audit(action: str, version: str, base_dir, **details) -> None:
    """Record a change to the registry in the workspace's audit log, as the system user `cli:<name>`
    (the dashboard records its users' changes there too)."""
    AuditLog(Workspace(load_settings().workspace).audit_log).record(
        f"cli:{_system_user()}", action, version, registry=str(base_dir), **details)


def _system_user() -> str:
    """The login name, or the user id where the system has no name for it (e.g. a container run
    with an arbitrary uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def run(args: argparse.Namespace) -> int:
    base_dir = args.base_dir or load_settings().model_dir
    registry = ModelRegistry(base_dir, args.model_name)
    if args.action == "list":
        rows = version_rows(registry)
        if not rows:
            print(f"no versions of {args.model_name} in {base_dir}")
            return 0
        headers = list(rows[0])
        _print_table([[str(row[h])[:40] for h in headers] for row in rows], headers)
    elif args.action == "show":
        print(json.dumps(registry.metadata(args.version), indent=2))
    elif args.action == "load":
        from core.registry.serializer import ModelSerializer
        model, meta, version = ModelSerializer.load_model(base_dir, args.model_name, args.version)
        print(f"loaded {args.model_name} {version}: {model.count_params():,} parameters, input "
              f"{meta['input_signature']['shape']}, all {len(meta['files'])} files verified")
    elif args.action == "export":
        from core.registry.serializer import ModelSerializer
        model, _, version = ModelSerializer.load_model(base_dir, args.model_name, args.version)
        if args.export_dir:
            print(ModelSerializer.export_for_inference(model, args.export_dir))
        else:
            print(ModelSerializer.add_saved_model(model, base_dir, version, args.model_name))
    elif args.action == "alias":
        if args.remove:
            version = registry.resolve(args.alias)
            registry.remove_alias(args.alias)
            audit("alias_version", version, base_dir, alias=args.alias, removed=True)
            print(f"removed alias {args.alias}")
        else:
            if not args.version:
                raise UsageError("give the version the alias should point at (or --remove)")
            registry.set_alias(args.alias, args.version)
            version = registry.resolve(args.alias)
            audit("alias_version", version, base_dir, alias=args.alias)
            print(f"{args.alias} -> {version}")
    elif args.action == "tag":
        tags = registry.set_tags(args.version, args.add, args.remove)
        audit("tag_version", registry.resolve(args.version), base_dir, tags=tags)
        print(", ".join(tags) or "(no tags)")
    elif args.action == "delete":
        version = registry.resolve(args.version)
        if not args.yes and input(f"delete {args.model_name} {version} for good? [y/N] ").lower() != "y":
            print("kept")
            return 1
        registry.delete(version)
        audit("delete_version", version, base_dir)
        print(f"deleted {version}")
    elif args.action == "import":
        from core.registry.serializer import ModelSerializer
        metadata = {"description": args.description} if args.description else None
        imported = ModelSerializer.import_legacy_h5(args.path, base_dir, args.model_name, metadata)
        audit("import_version", Path(imported).name, base_dir, file=str(args.path))
        print(imported)
    return 0
