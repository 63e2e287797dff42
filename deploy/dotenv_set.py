"""Set variables in a .env file, keeping every other line: `python deploy/dotenv_set.py FILE NAME=VALUE ...`.

`make run` and `make dev` write what they chose (HOST, PORT, PUBLIC_BASE_URL,
CALLBACK_ALLOWED_NETWORKS) with it, so that every `./manage` command run from another shell
agrees with the server (settings read the same file). Standard library only: it runs before
anything is installed.
"""

import re
import sys
from pathlib import Path


def dotenv_set(path: Path, values: dict[str, str]) -> None:
    lines = path.read_text().splitlines() if path.exists() else []
    left = dict(values)
    kept = []
    for line in lines:
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        if match and match.group(1) in values:
            if match.group(1) in left:
                kept.append(f"{match.group(1)}={left.pop(match.group(1))}")
            continue  # a second line of the same name would win when read: dropped
        kept.append(line)
    kept += [f"{name}={value}" for name, value in left.items()]
    path.write_text("\n".join(kept) + "\n")


if __name__ == "__main__":
    target, *pairs = sys.argv[1:]
    dotenv_set(Path(target), dict(pair.split("=", 1) for pair in pairs))
