#!/usr/bin/env python3
"""PDQ hashes of image files by Meta's reference implementation.

Used by accord-pdq's differential test (crates/accord-pdq/tests/it/reference.rs)
to check the Rust hashing against Meta's C++ code, which PyPI's `pdqhash`
package wraps (`pdqHash256FromFloatLuma`, at full size, no downscaling).
Images are decoded with Pillow and converted to RGB (alpha dropped).

Usage: pdq_reference.py FILE...
Prints one line per file: `HEX QUALITY FILE`, the hash as Meta's tools
print it (64 hex digits, bit 255 first) and the quality (0-100).
Exits 2 if the reference cannot be imported (scripts/install-deps.sh
installs it).
"""

import sys

try:
    import numpy as np
    import pdqhash
    from PIL import Image
except ImportError as e:  # pragma: no cover - reported to the caller
    print(f"pdq_reference: missing dependency: {e} (run scripts/install-deps.sh)", file=sys.stderr)
    sys.exit(2)


def reference_hash(path):
    """Returns (hex, quality) of the image at `path`."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    bits, quality = pdqhash.compute(pixels)
    # `bits` is bit 255 first: pack eight at a time, most significant first.
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:064x}", int(quality)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 1
    for path in argv[1:]:
        hexdigits, quality = reference_hash(path)
        print(f"{hexdigits} {quality} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
