"""The ``b2bua`` command: run the service, check a configuration, list what the store holds."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from b2bua import __version__
from b2bua.app import cli_listings
from b2bua.app.config import DATA_DIR_ENV, Config, load_config, resolve_data_dir
from b2bua.app.config_source import ConfigError
from b2bua.app.credentials import API_TOKEN_FILE, PreparedDataDir, prepare_data_dir
from b2bua.app.defaults import DEMO_OFFICE_YAML
from b2bua.net.loop import run as run_loop
from b2bua.store import StoreError, open_store, store_path

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value


def _moment(text: str) -> float:
    """``2024-05-01`` or ``2024-05-01T09:30`` (local time) as POSIX seconds."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date or date-time: {text!r} (e.g. 2024-05-01 or 2024-05-01T09:30)"
        ) from None


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="configuration file (default: the embedded demo office)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help=f"data directory (default: ${DATA_DIR_ENV}, the config's data_dir, "
                             "or ./b2bua-data)")


def _add_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve", help="run the B2BUA (SIP, media, web admin)",
        description="Run the service. Without --config it runs the demo office on "
                    "127.0.0.1:5060 and prints the passwords generated at first start.")
    _store_options(serve)
    serve.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="default: info")
    serve.add_argument("--sip-trace", action="store_true", help="log every SIP message")

    check = commands.add_parser(
        "check-config", help="validate a configuration file",
        description="Print OK, or each problem with its key path (exit status 1).")
    check.add_argument("file", type=Path, metavar="FILE")

    commands.add_parser(
        "example-config", help="print the annotated configuration of the demo office",
        description="Print the demo office configuration, every key explained: a start for "
                    "your own file.")

    users = commands.add_parser(
        "users", help="employees, passwords, registered devices",
        description="List employees with their SIP passwords (generating missing ones) and how "
                    "many devices are registered.")
    _store_options(users)

    registrations = commands.add_parser(
        "registrations", help="registered devices (bindings)",
        description="List live registrations: extension, contact, source address, expiry, "
                    "user agent.")
    _store_options(registrations)

    calls = commands.add_parser(
        "calls", help="recent calls with tags and options used",
        description="List recent calls, most recent first.")
    _store_options(calls)
    calls.add_argument("--tag", metavar="NAME", help="only calls with this tag")
    calls.add_argument("--employee", metavar="EXT", help="only calls of this employee")
    calls.add_argument("--number", metavar="NUMBER", help="only calls from or to this number")
    calls.add_argument("--since", type=_moment, metavar="WHEN", help="started at or after")
    calls.add_argument("--until", type=_moment, metavar="WHEN", help="started before")
    calls.add_argument("--limit", type=_positive, default=50, metavar="N", help="default: 50")
    calls.add_argument("--json", action="store_true", help="JSON with events and recordings")

    blacklist = commands.add_parser("blacklist", help="blocked numbers")
    _store_options(blacklist)
    contacts = commands.add_parser(
        "contacts", help="contact groups, or the contacts of one group")
    _store_options(contacts)
    contacts.add_argument("group", nargs="?", metavar="GROUP")
    managers = commands.add_parser("managers", help="clients' personal managers")
    _store_options(managers)
    outbox = commands.add_parser("outbox", help="SMS outbox and delivery status")
    _store_options(outbox)
    outbox.add_argument("--status", choices=("queued", "sending", "sent", "delivered", "failed"))
    outbox.add_argument("--limit", type=_positive, default=50, metavar="N", help="default: 50")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="b2bua",
        description="SIP back-to-back user agent for a hosted office phone system: in-call key "
                    "options (tag, scenario, manager, trainer, blacklist, contact, record, SMS "
                    "card, move, # transfer).",
        epilog="Run 'b2bua COMMAND --help' for the options of a command.",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=30),
    )
    parser.add_argument("--version", action="version", version=f"b2bua {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_commands(commands)
    return parser


# ---------------------------------------------------------------------------------- commands


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    print(
        f"OK: {args.file}: {len(config.employees)} employees, {len(config.groups)} ring groups, "
        f"{len(config.numbers)} company numbers, {len(config.scenarios)} scenarios, "
        f"{len(config.keys)} keys"
    )
    return 0


def _example_config(args: argparse.Namespace) -> int:
    sys.stdout.write(DEMO_OFFICE_YAML)
    return 0


def _print_banner(config: Config, args: argparse.Namespace, prepared: PreparedDataDir) -> None:
    source = str(args.config) if args.config else "the demo office (no --config given)"
    sip = config.sip
    print(f"b2bua {__version__}: {source}")
    print(f"data directory: {prepared.data_dir}")
    print(f"SIP: {'+'.join(sip.transports)} {sip.listen}:{sip.port} (domain {sip.realm}); "
          f"admin: http://{config.web.listen}:{config.web.port}/")
    if prepared.new_passwords:
        print("new passwords (shown once; 'b2bua users' lists them again):")
        names = {employee.extension: employee.name for employee in config.employees}
        width = max(len(name) for name in names.values())
        for extension, password in prepared.new_passwords.items():
            print(f"  {extension:<6}  {names[extension]:<{width}}  {password}")
    if prepared.api_token_created:
        print(f"new web API token: {prepared.api_token} "
              f"(kept in {prepared.data_dir / API_TOKEN_FILE})")
    sys.stdout.flush()


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.sip_trace:
        config = config.model_copy(update={"sip": config.sip.model_copy(update={"trace": True})})
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    data_dir = resolve_data_dir(config, args.data_dir)
    prepared = prepare_data_dir(config, data_dir, time.time())
    _print_banner(config, args, prepared)
    try:
        service = importlib.import_module("b2bua.app.service")
    except ModuleNotFoundError as error:
        if error.name != "b2bua.app.service":
            raise
        print("b2bua: this installation has no service module (b2bua.app.service)",
              file=sys.stderr)
        return 1
    try:
        run_loop(service.run(config, data_dir))
    except KeyboardInterrupt:
        print("stopped")
    return 0


def _listing(name: str) -> Callable[[argparse.Namespace], int]:
    """A listing command run against the store of the data directory the options choose."""
    show, writes = cli_listings.LISTINGS[name]

    def command(args: argparse.Namespace) -> int:
        config = load_config(args.config)
        data_dir = resolve_data_dir(config, args.data_dir)
        if not writes and not store_path(data_dir).exists():
            print(f"b2bua: no data in {data_dir} (the service has not run there yet)",
                  file=sys.stderr)
            return 1
        if writes:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open_store(data_dir, read_only=not writes) as store:
            return show(config, store, args)

    return command


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "check-config": _check_config,
    "example-config": _example_config,
    **{name: _listing(name) for name in cli_listings.LISTINGS},
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``b2bua`` command; answers the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return _COMMANDS[args.command](args)
    except ConfigError as error:
        print(error.message, file=sys.stderr)
        return 1
    except (StoreError, OSError) as error:
        print(f"b2bua: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
