"""The converged lab serves OroCommerce the way the seed says: HTTPS only through the load balancer,
every web node in turn with the deployed version, and the WAF model (451 for a blocked user agent,
429 beyond a rate limit while normal traffic is still served)."""

import json

from labview import hostvars, node, probes, with_role


def _curl(host, args):
    """curl in a lab node; `args` is a shell fragment (no testinfra %-formatting)."""
    return node(host).check_output("curl -sk --max-time 5 " + args)


def _lb_public():
    (lb,) = with_role("load_balancer")
    return hostvars(lb)["orocloud_public_address"]


def _client(args):
    return _curl(probes()[0], args)


def test_https_through_the_load_balancer_reaches_every_web_node_with_the_deployed_version():
    url = "https://%s/health" % _lb_public()
    seen = {}
    for _attempt in range(3 * len(with_role("web"))):
        health = json.loads(_client(url))
        seen[health["host"]] = health
    assert set(seen) == set(with_role("web")), "round robin over every web node"
    version = hostvars(with_role("web")[0])["orocloud_application_version"]
    for health in seen.values():
        assert health["status"] == "ok"
        assert health["version"] == version
        assert health["database"] == "ok"


def test_http_only_redirects_to_https():
    url = "http://%s/version" % _lb_public()
    code, location = _client("-o /dev/null -w '%%{http_code} %%{redirect_url}' %s" % url).split()
    assert code in ("301", "308")
    assert location.startswith("https://")


def test_https_answers_with_hsts():
    headers = _client("-D - -o /dev/null https://%s/version" % _lb_public()).lower()
    assert "strict-transport-security: max-age=" in headers


def test_a_blocked_user_agent_gets_451():
    assert _client("-A sqlmap/1.7 -o /dev/null -w '%%{http_code}' https://%s/version" % _lb_public()) == "451"


def test_a_burst_beyond_the_rate_limit_gets_429_while_normal_traffic_is_served():
    url = "https://%s/version" % _lb_public()
    burst = " ".join(["-o /dev/null " + url] * 40)
    codes = _client("-A crawler-test-bot/1.0 -w '%%{http_code}\\n' %s" % burst).split()
    assert "429" in codes, codes
    assert codes[0] == "200"
    # Another source (the VPN gateway's public side), at the same moment, is served normally.
    (vpn,) = with_role("vpn_gateway")
    assert _curl(vpn, "-o /dev/null -w '%%{http_code}' %s" % url) == "200"
