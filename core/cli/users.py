"""`python -m core users ...`: the users who may log in to a served dashboard (`core.app.users`)."""

from __future__ import annotations

import argparse
import getpass
import sys

from core.app.settings import load_settings
from core.app.users import ROLES, UserDirectory
from core.cli.common import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("users", help="add users and roles for the dashboard's login",
                                   description="The users file (default: DFE_USERS_FILE or config/app.yaml "
                                               "users_file) with salted password hashes.")
    parser.add_argument("--users_file", default=None, help="the users file (YAML)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="<action>")
    add = actions.add_parser("add", help="add a user, or change their password and role")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="member")
    add.add_argument("--password_stdin", action="store_true",
                     help="read the password from stdin (one line) instead of asking twice")
    actions.add_parser("list", help="the users and their roles")
    parser.set_defaults(run=run)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise UsageError("the two passwords differ")
    return password


def run(args: argparse.Namespace) -> int:
    path = args.users_file or load_settings().users_file
    if path is None:
        raise UsageError("no users file: pass --users_file or set DFE_USERS_FILE (login is off without one)")
    users = UserDirectory(path)
    if args.action == "add":
        user = users.add(args.name, _password(args.password_stdin), args.role)
        print(f"{user.name} ({user.role}) can log in; users file: {path}")
    else:
        for user in users.users():
            print(f"{user.name}\t{user.role}")
    return 0
