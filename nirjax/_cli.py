"""Command line: ``nirjax demo``, ``nirjax simulate``, ``nirjax reproduce``."""

from __future__ import annotations

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nirjax", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("demo", help="simulate the bundled NIR-paper LIF graph and show the platform table")
    args = parser.parse_args(argv)
    if args.cmd == "demo":
        from ._demo import run_demo

        return run_demo()
    return 0
