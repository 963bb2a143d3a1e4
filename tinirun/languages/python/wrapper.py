"""Calls the user's run(input) with all of standard input and prints what it returns."""

import sys

sys.path.insert(0, "/app")


def main() -> int:
    data = sys.stdin.read()
    try:
        from function import run

        result = run(data)
    except Exception:
        import traceback  # only when needed: it costs start-up time

        traceback.print_exc()
        return 1
    sys.stdout.write("" if result is None else str(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
