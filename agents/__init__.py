"""The reference support desk's specialists, one TOML spec per agent."""

from pathlib import Path

SPEC_DIR = Path(__file__).parent
