"""arena-kit: judge code-generation models by running their code."""

__version__ = "0.1.0"
