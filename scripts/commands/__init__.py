"""The `techmatch` commands by theme; scripts.cli builds the Typer app from them."""
