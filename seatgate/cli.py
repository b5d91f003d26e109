"""The ``seatgate`` command. Each subcommand lives next to the code it drives.

A subcommand module exposes ``configure_parser(parser)`` and ``main(args) -> int``; it
imports anything heavy inside ``main`` so that ``seatgate --help`` stays fast.
Configuration errors are printed as one line and end with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from seatgate.settings import ConfigError

# name → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("seatgate_simulator.demo", "run simulator, embedded Redis, worker and proxy together"),
    "proxy": ("proxy_addon.runner", "run the reverse proxy (lean mitmproxy runner)"),
    "worker": ("grant_worker.main", "run the grant worker (grants, sweeper, admin API)"),
    "simulate": ("seatgate_simulator.cli", "run the Jira/Confluence Data Center simulator"),
    "rules": ("seatgate.rules.cli", "list, edit, explain and test the traffic rules"),
    "report": ("seatgate.report.cli", "licence sizing report from access logs"),
    "status": ("grant_worker.status", "seats, queue and licensed users per product"),
    "doctor": ("grant_worker.doctor", "check the upstream set-up and say how to fix it"),
    "setup": ("grant_worker.setup", "move application access to the licence group (plan, --apply, --revert)"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, like every other bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seatgate", description="Floating licences for Jira and Confluence Data Center.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # component not installed in this build
            raise
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.configure_parser(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._module.main(args) or 0)
    except ConfigError as exc:
        print(f"seatgate {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
