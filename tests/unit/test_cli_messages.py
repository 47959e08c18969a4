"""Library messages name Python parameters; the CLI says the flags (cli/flags.py)."""

from __future__ import annotations

from causal_attrib.cli.flags import cli_message


def test_keyword_arguments_become_flags_with_their_value():
    message = "since goes with incident='auto' only; give one or the other"
    assert cli_message(message, "since") == (
        "--since goes with --incident auto only; give one or the other"
    )
    assert cli_message("give the start (incident='START[/END]')", "incident") == (
        "give the start (--incident START[/END])"
    )


def test_snake_case_names_become_flags_and_plain_words_stay():
    assert cli_message("n_samples must be at least 100", "n_samples") == (
        "--samples must be at least 100"
    )
    assert cli_message("a window of the data", None) == "a window of the data"
