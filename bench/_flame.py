"""Summarise a py-spy `--format raw` (collapsed stacks) profile: top frames by self and by inclusive time.

Run: .venv/bin/python bench/_flame.py PROFILE.txt [--top 25] [--grep WORD]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--grep", help="only count stacks containing this text")
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in open(args.profile, encoding="utf-8", errors="replace"):
        stack, _, n = line.rstrip().rpartition(" ")
        if not n.isdigit() or (args.grep and args.grep not in stack):
            continue
        count = int(n)
        total += count
        frames = [re.sub(r" \((.*/)?([^/]+\.py):\d+\)", r" (\2)", f) for f in stack.split(";")]
        own[frames[-1]] += count
        for f in set(frames):
            inclusive[f] += count
    print(f"{total} samples")
    print("-- self")
    for f, c in own.most_common(args.top):
        print(f"{100 * c / total:5.1f} %  {f}")
    print("-- inclusive")
    for f, c in inclusive.most_common(args.top * 2):
        print(f"{100 * c / total:5.1f} %  {f}")


if __name__ == "__main__":
    main()
