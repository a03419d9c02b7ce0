"""Command line: ``nirjax demo``, ``nirjax simulate``, ``nirjax reproduce``."""

from __future__ import annotations

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nirjax", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("demo", help="simulate the bundled NIR-paper LIF graph and show the platform table")
    rp = sub.add_parser("reproduce", help="regenerate a NIR paper experiment (lif) or the Yin-Yang benchmark (yinyang)")
    rp.add_argument("which", choices=["lif", "yinyang"])
    rp.add_argument("--out", default="reproduce_out", help="output folder")
    rp.add_argument("--epochs", type=int, default=None, help="training epochs (yinyang)")
    args = parser.parse_args(argv)
    if args.cmd == "demo":
        from ._demo import run_demo

        return run_demo()
    if args.cmd == "reproduce":
        from ._reproduce import reproduce

        reproduce(args.which, args.out, epochs=args.epochs)
        return 0
    return 0
