"""The demo's proof: does ``largest`` in the given file return the largest number?

pair-lsp runs it before each review, on a copy of the workspace with the candidate applied
(examples/demo.pair-lsp.toml): ``python3 examples/check_largest.py examples/buggy.py``.
"""

import runpy
import sys

largest = runpy.run_path(sys.argv[1])["largest"]
for xs in ([-3, -1, -2], [-7], [1, 5, 2], [0, -1], [2.5, 2.0]):
    got = largest(list(xs))
    if got != max(xs):
        sys.exit(f"largest({xs}) returned {got!r}, expected {max(xs)!r}")
print("largest() returns the largest number of negative, positive and mixed lists")
