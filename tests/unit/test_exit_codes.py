from causal_attrib import exit_codes
from causal_attrib.errors import InputError
from causal_attrib.exit_codes import exit_code_for


def test_documented_values():
    assert (
        exit_codes.OK,
        exit_codes.CHECK_FAILED,
        exit_codes.BAD_INPUT,
        exit_codes.INTERNAL_ERROR,
    ) == (0, 1, 2, 3)


def test_outcomes_map_to_codes():
    assert exit_code_for() == 0
    assert exit_code_for(check_failed=True) == 1
    assert exit_code_for(error=InputError("bad")) == 2
    assert exit_code_for(error=ValueError("bug")) == 3
    # an error wins over a failed check: the check's outcome is unknown
    assert exit_code_for(error=InputError("bad"), check_failed=True) == 2
