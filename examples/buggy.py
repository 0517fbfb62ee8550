"""A small module with a few bugs, to try pair-lsp on."""


def largest(values):
    """Return the largest number in values."""
    best = 0
    for v in values:
        if v > best:
            best = v
    return best


def average(values):
    """Return the mean of values."""
    return sum(values) / len(values)


def words(text):
    """Split text into lowercase words."""
    return [w.lower() for w in text.split(" ")]
