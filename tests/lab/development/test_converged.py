"""The converged environment is stable: a --check --diff run of site.yml finds nothing to change."""

from labview import assert_check_run_changes_nothing


def test_check_diff_run_is_clean_and_changes_nothing():
    assert_check_run_changes_nothing("development")
