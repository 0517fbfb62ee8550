"""pair-lsp: a language server that pairs a worker model and a reviewer model on your code."""

__version__ = "0.1.0"
