"""Production nodes carry no development-only parts."""

from labview import hostvars, node, with_role


def test_dev_mode_is_off_in_production():
    for web in with_role("web"):
        assert not hostvars(web)["orocloud_profile"]["dev_mode_allowed"]
        pool = node(web).file("/etc/php/8.2/fpm/pool.d/oro.conf").content_string
        assert "env[ORO_ENV] = dev" not in pool
        assert "ORO_ENV=prod" in node(web).file("/var/www/oro/shared/.env-app.local").content_string
