"""Stops the README's install commands with one sentence on a Python older than the bot needs.

Run first, as `python3 check_python.py && ...`. Written to run on any Python 3 (no newer syntax), so that
an old interpreter reads it and explains, instead of pip failing later with a resolver dump.
"""

import sys

NEEDED = (3, 11)


def main() -> None:
    if tuple(sys.version_info[:2]) < NEEDED:
        found = ".".join(str(part) for part in sys.version_info[:3])
        needed = ".".join(str(part) for part in NEEDED)
        # Joined with +, not an f-string: this must read on any Python 3.
        sys.stderr.write(
            "This bot needs Python "
            + needed
            + " or newer, but `"
            + sys.executable
            + "` is Python "
            + found
            + ". Install Python 3.11 or newer (Debian/Ubuntu: sudo apt install python3.11 python3.11-venv) "
            "and run the same commands with python3.11 instead of python3.\n"
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
