"""The converged environment is stable: a --check --diff run of site.yml finds nothing to change."""

from labview import converge_in_check_mode, env_nodes, recap_changed


def test_check_diff_run_is_clean_and_changes_nothing():
    rc, output = converge_in_check_mode("lab")
    assert rc == 0, output[-3000:]
    changed = recap_changed(output)
    assert set(env_nodes()) <= set(changed), output[-3000:]
    assert {host: n for host, n in changed.items() if n and host != "localhost"} == {}
