"""Run every benchmark in turn: ``make bench``."""

import importlib
import sys
import time

SUITES = ["io", "backbone", "segment", "stylize", "motion"]


def main(names: list[str]) -> None:
    for name in names or SUITES:
        started = time.perf_counter()
        print(f"== bench.{name}", flush=True)
        importlib.import_module(f"bench.{name}").main()
        print(f"== bench.{name} done in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
