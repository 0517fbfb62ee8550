"""`python -m bench.plot RESULTS.json OUT.png`: the overhead-by-document-size plot (matplotlib,
which bench/run.sh installs in its own venv)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = json.loads(Path(argv[0]).read_text())
    sizes = [int(s) for s in results["overhead"]]
    values = [results["overhead"][str(s)]["overhead_ms"] for s in sizes]
    lows = [results["overhead"][str(s)]["overhead_min_ms"] for s in sizes]
    highs = [results["overhead"][str(s)]["overhead_max_ms"] for s in sizes]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    ax.plot(sizes, values, marker="o", label="median")
    ax.fill_between(sizes, lows, highs, alpha=0.2, label="min–max")
    ax.axhline(20, color="grey", linestyle="--", linewidth=1, label="target (2,000 lines)")
    if "sdk_floor" in results:
        ax.axhline(results["sdk_floor"]["overhead_ms"], color="green", linestyle=":",
                   linewidth=1, label="bare SDKs, same 4 calls")
    ax.set_xscale("log")
    ax.set_xlabel("document size (lines)")
    ax.set_ylabel("overhead per session (ms)")
    ax.set_title("pair-lsp overhead on top of model time (2-round session)")
    ax.legend()
    fig.tight_layout()
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
