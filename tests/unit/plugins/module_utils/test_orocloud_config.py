# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the layered orocloud.yaml backend."""

from __future__ import annotations

import ast
import copy
import textwrap
from pathlib import Path

import pytest

from ansible_collections.orocloud.ops.plugins.module_utils import _orocloud_config as occ

ROOT = Path(__file__).resolve().parents[4]


def write(directory, name, text):
    path = Path(directory) / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return str(path)


def load(directory, environment_type="production", **kwargs):
    return occ.load_layered_config(str(directory), environment_type, **kwargs)


def messages(issues):
    return [str(issue) for issue in issues]


# ------------------------------------------------------------------------------------- file names


@pytest.mark.parametrize(
    "environment_type, expected",
    [
        ("development", "orocloud_dev.yaml"),
        ("testing", "orocloud_uat.yaml"),
        ("staging", "orocloud_stag.yaml"),
        ("production", "orocloud_prod.yaml"),
    ],
)
def test_overlay_name_follows_oro(environment_type, expected):
    assert occ.overlay_name(environment_type) == expected


def test_overlay_name_rejects_unknown_type():
    with pytest.raises(occ.OroCloudConfigError, match="unknown environment type 'prod'"):
        occ.overlay_name("prod")


# ------------------------------------------------------------------------ good layering per type


@pytest.mark.parametrize("environment_type", occ.ENVIRONMENT_TYPES)
def test_each_type_reads_common_then_its_own_overlay(tmp_path, environment_type):
    write(
        tmp_path,
        "orocloud.yaml",
        """
        orocloud_options:
          application:
            maintenance_page: 'public/maintenance.html'
          mail:
            whitelist: ['common.example']
        """,
    )
    for other in occ.ENVIRONMENT_TYPES:
        write(tmp_path, occ.overlay_name(other), "orocloud_options: {mail: {whitelist: ['%s.example']}}\n" % other)

    result = load(tmp_path, environment_type)

    assert result.valid, messages(result.errors)
    assert result.files == [str(tmp_path / "orocloud.yaml"), str(tmp_path / occ.overlay_name(environment_type))]
    assert result.config == {
        "orocloud_options": {
            "application": {"maintenance_page": "public/maintenance.html"},
            "mail": {"whitelist": ["%s.example" % environment_type]},
        }
    }
    assert result.common["orocloud_options"]["mail"] == {"whitelist": ["common.example"]}
    assert result.warnings == []


def test_common_file_alone_is_enough(tmp_path):
    write(tmp_path, "orocloud.yaml", "orocloud_options: {application: {consumers_debug_mode: true}}\n")

    result = load(tmp_path, "staging")

    assert result.valid
    assert result.files == [str(tmp_path / "orocloud.yaml")]
    assert result.overlay == str(tmp_path / "orocloud_stag.yaml")
    assert result.config == result.common


def test_explicit_overlay_replaces_the_type_overlay(tmp_path):
    write(tmp_path, "orocloud.yaml", "orocloud_options: {mail: {whitelist: [a.example]}}\n")
    write(tmp_path, "orocloud_prod.yaml", "orocloud_options: {mail: {whitelist: [prod.example]}}\n")
    candidate = write(tmp_path, "candidate.yaml", "orocloud_options: {mail: {whitelist: [candidate.example]}}\n")

    by_name = load(tmp_path, overlay="candidate.yaml")
    by_path = load(tmp_path, overlay=candidate)

    for result in (by_name, by_path):
        assert result.valid
        assert result.files[-1] == candidate
        assert result.config["orocloud_options"]["mail"]["whitelist"] == ["candidate.example"]


# ----------------------------------------------------------------------------------- merge rules

MERGE_CASES = [
    pytest.param({"a": {"x": 1, "y": 2}}, {"a": {"y": 3, "z": 4}}, {"a": {"x": 1, "y": 3, "z": 4}}, id="maps-merge"),
    pytest.param({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"d": 5}}}, {"a": {"b": {"c": 1, "d": 5}}}, id="deep"),
    pytest.param({"a": [1, 2, 3]}, {"a": [9]}, {"a": [9]}, id="list-replaces-list"),
    pytest.param({"a": [1, 2]}, {"a": []}, {"a": []}, id="empty-list-clears"),
    pytest.param({"a": "x"}, {"a": "y"}, {"a": "y"}, id="scalar-replaces"),
    pytest.param({"a": {"x": 1}}, {"a": "flat"}, {"a": "flat"}, id="scalar-replaces-map"),
    pytest.param({"a": "flat"}, {"a": {"x": 1}}, {"a": {"x": 1}}, id="map-replaces-scalar"),
    pytest.param({"a": {"x": 1}}, {"a": [1]}, {"a": [1]}, id="list-replaces-map"),
    pytest.param({"a": 1, "b": 2}, {"a": None}, {"b": 2}, id="null-deletes"),
    pytest.param({"a": {"x": 1, "y": 2}}, {"a": {"x": None}}, {"a": {"y": 2}}, id="null-deletes-nested"),
    pytest.param({"a": 1}, {"zz": None}, {"a": 1}, id="null-on-missing-key-is-noop"),
    pytest.param({"a": 1, "b": None}, {}, {"a": 1}, id="null-in-base-means-unset"),
    pytest.param({}, {"a": {"x": None, "y": 1}}, {"a": {"y": 1}}, id="null-inside-new-map-dropped"),
    pytest.param({"a": [{"q": 1}]}, {"a": [{"q": None}]}, {"a": [{"q": None}]}, id="list-items-kept-verbatim"),
    pytest.param({"a": False}, {"a": 0}, {"a": 0}, id="falsy-values-replace"),
]


@pytest.mark.parametrize("base, overlay, expected", MERGE_CASES)
def test_merge_rules(base, overlay, expected):
    base_before, overlay_before = copy.deepcopy(base), copy.deepcopy(overlay)

    merged = occ.merge(base, overlay)

    assert merged == expected
    assert (base, overlay) == (base_before, overlay_before), "inputs must not be modified"


def test_merge_result_shares_nothing_with_inputs():
    base = {"a": {"list": [1]}}
    overlay = {"b": {"list": [2]}}

    merged = occ.merge(base, overlay)
    merged["a"]["list"].append(99)
    merged["b"]["list"].append(99)

    assert base == {"a": {"list": [1]}} and overlay == {"b": {"list": [2]}}


def test_null_in_overlay_removes_keys_end_to_end(tmp_path):
    write(
        tmp_path,
        "orocloud.yaml",
        """
        orocloud_options:
          mail:
            whitelist: ['example.com']
          webserver:
            header_x_frame: true
            limit_whitelist: ['8.8.8.8']
        """,
    )
    write(
        tmp_path,
        "orocloud_prod.yaml",
        """
        orocloud_options:
          mail: null
          webserver:
            limit_whitelist: ~
        """,
    )

    result = load(tmp_path)

    assert result.valid
    assert result.config == {"orocloud_options": {"webserver": {"header_x_frame": True}}}
    assert "mail" in result.common["orocloud_options"]


@pytest.mark.parametrize(
    "overlay_text",
    ["", "---\n", "# only comments\n", "orocloud_options:\n", "orocloud_options: ~\n", "orocloud_options: {}\n"],
    ids=["empty", "bare-document", "comments", "empty-key", "null-key", "empty-map"],
)
def test_empty_overlay_changes_nothing(tmp_path, overlay_text):
    write(tmp_path, "orocloud.yaml", "orocloud_options: {mail: {whitelist: [example.com]}}\n")
    write(tmp_path, "orocloud_prod.yaml", overlay_text)

    result = load(tmp_path)

    assert result.valid, messages(result.errors)
    assert result.config == result.common == {"orocloud_options": {"mail": {"whitelist": ["example.com"]}}}


# --------------------------------------------------------------------------------- malformed YAML

MALFORMED = [
    pytest.param("orocloud_options:\n  mail: {whitelist: [a.example\n", 3, "YAML syntax error", id="unclosed-flow"),
    pytest.param("orocloud_options:\n  mail:\n\twhitelist: []\n", 3, "spaces only", id="tab-indent"),
    pytest.param("orocloud_options:\n  mail: x\n   bad: y\n", 3, "YAML syntax error", id="bad-indent"),
    pytest.param("orocloud_options: {}\n---\norocloud_options: {}\n", 2, "single document", id="two-documents"),
    pytest.param("orocloud_options:\n  mail: *nowhere\n", 2, "undefined alias", id="unknown-alias"),
]


@pytest.mark.parametrize("text, line, reason", MALFORMED)
def test_malformed_yaml_names_file_and_line(tmp_path, text, line, reason):
    write(tmp_path, "orocloud.yaml", "orocloud_options: {}\n")
    overlay = write(tmp_path, "orocloud_prod.yaml", text)

    result = load(tmp_path)

    assert not result.valid
    [error] = result.errors
    assert error.file == overlay
    assert error.line == line
    assert reason in error.reason
    assert str(error).startswith("%s:%d: " % (overlay, line))


def test_duplicate_keys_are_errors_with_both_lines(tmp_path):
    common = write(
        tmp_path,
        "orocloud.yaml",
        """
        orocloud_options:
          mail:
            whitelist: [a.example]
          mail:
            whitelist: [b.example]
        """,
    )

    result = load(tmp_path)

    [error] = result.errors
    assert (error.file, error.line, error.key_path) == (common, 4, "orocloud_options.mail")
    assert "first at line 2" in error.reason


def test_merge_keys_are_not_duplicates(tmp_path):
    write(
        tmp_path,
        "orocloud.yaml",
        """
        x-php: &php {type: php, location: '/'}
        orocloud_options:
          webserver:
            locations:
              de: {<<: *php, location: '/de'}
        """,
    )

    result = load(tmp_path, strict=False)

    assert result.valid, messages(result.errors)
    assert result.config["orocloud_options"]["webserver"]["locations"]["de"] == {"type": "php", "location": "/de"}
    assert [w.key_path for w in result.warnings] == ["x-php"]


@pytest.mark.parametrize(
    "text, reason",
    [("- a\n- b\n", "got a list"), ("just text\n", "got a string")],
    ids=["list", "scalar"],
)
def test_document_must_be_a_mapping(tmp_path, text, reason):
    common = write(tmp_path, "orocloud.yaml", text)

    result = load(tmp_path)

    [error] = result.errors
    assert error.file == common and reason in error.reason


def test_undecodable_file_is_an_error(tmp_path):
    (tmp_path / "orocloud.yaml").write_bytes(b"orocloud_options: {mail: {whitelist: ['\xff']}}\n")

    [error] = load(tmp_path).errors

    assert "not UTF-8" in error.reason


def test_timestamps_stay_strings(tmp_path):
    write(
        tmp_path,
        "orocloud.yaml",
        "orocloud_options: {maintenance: {downtime_duration: 1h, downtime_comment: 2024-05-01}}\n",
    )

    result = load(tmp_path)

    assert result.valid, messages(result.errors)
    assert result.config["orocloud_options"]["maintenance"]["downtime_comment"] == "2024-05-01"


# --------------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize("strict, errors, warnings", [(True, 2, 0), (False, 0, 2)], ids=["strict", "lenient"])
def test_unknown_keys_are_errors_or_warnings(tmp_path, strict, errors, warnings):
    write(
        tmp_path,
        "orocloud.yaml",
        """
        orocloud_options:
          webserver:
            limit_whitlist: ['8.8.8.8']
        something_else: true
        """,
    )

    result = load(tmp_path, strict=strict)

    assert (len(result.errors), len(result.warnings)) == (errors, warnings)
    found = {issue.key_path: issue.reason for issue in result.errors + result.warnings}
    assert found["orocloud_options.webserver.limit_whitlist"] == "unknown key (did you mean 'limit_whitelist'?)"
    assert found["something_else"].startswith("unknown key; expected one of: orocloud_options")
    assert result.config["something_else"] is True


# ---------------------------------------------------------------------------------- wrong values

WRONG = [
    ("consumers: oro.default", "consumers", "expected a list, got a string"),
    ("consumers: [{processes: 4}]", "consumers.0.queue", "required key is missing"),
    ("consumers: [{queue: 5}]", "consumers.0.queue", "expected a string, got an integer (quote it"),
    ("consumers: [{queue: 'oro default'}]", "consumers.0.queue", "letters, digits"),
    ("consumers: [{queue: q, processes: 'four'}]", "consumers.0.processes", "expected an integer, got a string"),
    ("consumers: [{queue: q, processes: 0}]", "consumers.0.processes", "must be between 1 and 64 (got 0)"),
    ("consumers: [{queue: q}, {queue: q}]", "consumers.1.queue", "duplicate 'q' (already item 0)"),
    ("mail: {whitelist: example.com}", "mail.whitelist", "expected a list, got a string"),
    ("mail: {whitelist: ['exa mple.com']}", "mail.whitelist.0", "is not a domain name"),
    ("mail: [example.com]", "mail", "expected a mapping, got a list"),
    ("webserver: {limit_whitelist: ['999.1.1.1']}", "webserver.limit_whitelist.0", "not an IP address or network"),
    ("webserver: {header_x_frame: 'yes please'}", "webserver.header_x_frame", "expected a boolean, got a string"),
    (
        "webserver: {locations: {root: {type: phpp, location: '/'}}}",
        "webserver.locations.root.type",
        "must be one of: php, static, rewrite (got 'phpp')",
    ),
    ("webserver: {locations: {root: {type: php}}}", "webserver.locations.root.location", "required key is missing"),
    (
        "webserver: {locations: {r: {location: '/', allow: [nowhere]}}}",
        "webserver.locations.r.allow.0",
        "not an IP address",
    ),
    (
        "webserver: {locations: {r: {location: '/', auth_basic_userlist: {u: {ensure: present}}}}}",
        "webserver.locations.r.auth_basic_userlist.u.password",
        "required key is missing",
    ),
    (
        "webserver: {access_policy: {country: {type: deny, allow: [US, NO]}}}",
        "webserver.access_policy.country.allow.1",
        "expected a string, got a boolean (quote it",
    ),
    ("webserver: {access_policy: {country: {allow: [usa]}}}", "webserver.access_policy.country.allow.0", "ISO 3166"),
    ("webserver: {access_policy: {asn: {allow: ['AS1']}}}", "webserver.access_policy.asn.allow.0", "not an AS number"),
    ("webserver: {redirects_map: {/About: /a, /about: /b}}", "webserver.redirects_map./about", "case-insensitively"),
    (
        "webserver: {blackfire_options: {apm_enabled: 2}}",
        "webserver.blackfire_options.apm_enabled",
        "must be one of: 0, 1",
    ),
    ("application: {web_backend_prefix: '/admin/'}", "application.web_backend_prefix", "must not end with '/'"),
    ("application: {web_backend_prefix: 'admin'}", "application.web_backend_prefix", "must start with '/'"),
    ("application: {error_pages: {404: public/404.html}}", "application.error_pages.404", "key: is not an error page"),
    ("application: {env_vars: {ORO_PORT: 8080}}", "application.env_vars.ORO_PORT", "expected a string, got an integer"),
    ("application: {env_vars: {ORO_EMPTY: ''}}", "application.env_vars.ORO_EMPTY", "must not be empty"),
    ("application: {env_vars: {'1BAD': x}}", "application.env_vars.1BAD", "key: a shell variable name"),
    ("deployment: {composer_command: 'composer install'}", "deployment.composer_command", "{{composer_cmd}}"),
    (
        "deployment: {upgrade_commands: ['oro:platform:update', '']}",
        "deployment.upgrade_commands.1",
        "must not be empty",
    ),
    ("deployment: {git_clone_recursive: 'true'}", "deployment.git_clone_recursive", "expected a boolean"),
    ("schedule: {t: {command: x, minute: '61'}}", "schedule.t.minute", "out of range 0-59"),
    ("schedule: {t: {command: x, weekday: '1-8'}}", "schedule.t.weekday", "out of range 0-7"),
    ("schedule: {t: {command: x, hour: '*/0'}}", "schedule.t.hour", "invalid step"),
    ("schedule: {t: {command: x, month: 'every'}}", "schedule.t.month", "not a cron expression"),
    ("schedule: {t: {minute: 5}}", "schedule.t.command", "required key is missing"),
    ("schedule: {'bad name': {command: x}}", '"bad name"', "key:"),
    (
        "maintenance: {downtime_duration: 1h}",
        "maintenance.downtime_comment",
        "required when 'downtime_duration' is set",
    ),
    ("maintenance: {downtime_duration: '90 minutes', downtime_comment: c}", "maintenance.downtime_duration", "1d3h15m"),
    ("backup: {retention: {hourly_days: -1}}", "backup.retention.hourly_days", "must be between 0 and inf"),
    ("domains: {'not a domain': {locations_merge: true}}", '"not a domain"', "key: is not a domain name"),
    ("elasticsearch: {synonyms: {products: 'a, b'}}", "elasticsearch.synonyms.products", "expected a list"),
]


@pytest.mark.parametrize("snippet, path, reason", WRONG, ids=[case[1] + ":" + case[2][:24] for case in WRONG])
def test_wrong_values_are_reported_with_path_and_reason(tmp_path, snippet, path, reason):
    common = write(tmp_path, "orocloud.yaml", "orocloud_options:\n  %s\n" % snippet)

    result = load(tmp_path)

    expected_path = "orocloud_options." + path if not path.startswith('"') else path
    matching = [e for e in result.errors if e.key_path.endswith(expected_path) and reason in e.reason]
    assert matching, messages(result.errors)
    assert all(e.file == common and e.line == 2 for e in matching)


@pytest.mark.parametrize(
    "snippet, path, reason",
    [
        (
            "deployment: {after_composer_install_commands: [x]}",
            "deployment.after_composer_install_commands",
            "deprecated",
        ),
        (
            "deployment: {sanitize: {rawsql_override_rules: [a], rawsql_add_rules: [b]}}",
            "deployment.sanitize.rawsql_add_rules",
            "ignored by Oro because 'rawsql_override_rules' is set",
        ),
    ],
)
def test_valid_but_questionable_values_are_warnings(tmp_path, snippet, path, reason):
    write(tmp_path, "orocloud.yaml", "orocloud_options:\n  %s\n" % snippet)

    result = load(tmp_path)

    assert result.valid, messages(result.errors)
    [warning] = result.warnings
    assert warning.key_path == "orocloud_options." + path and reason in warning.reason


def test_everything_oro_documents_is_valid(tmp_path):
    write(
        tmp_path,
        "orocloud.yaml",
        r"""
        ---
        orocloud_options:
          deployment:
            install_commands:
              - 'oro:install --sample-data=n --application-url=https://example.com --organization-name=Oro'
            upgrade_commands: ['oro:platform:update']
            pre_upgrade_commands: ['oro:maintenance-notification --message=Deploy\ start --subject=At\ UAT']
            pre_maintenance_commands: ['oro:maintenance-notification --message=Maintenance\ start']
            post_maintenance_commands: ['oro:maintenance-notification --message=Maintenance\ finish']
            post_upgrade_commands: ['oro:maintenance-notification --message=Deploy\ finish']
            git_clone_recursive: true
            composer_command: 'COMPOSER=dev.json {{composer_cmd}} install --no-dev -vvv'
            db_extensions: ['uuid-ossp', 'pgcrypto']
            before_backup_create_commands: ['command1']
            after_backup_create_commands: ['command2']
            sanitize:
              rawsql_add_rules: ['TRUNCATE oro_message_queue_job_unique_test']
              update_add_rules:
                - '{ table: oro_email_test, columns: [{name: subject, method: md5}] }'
              custom_email_domain: 'example.com'
          application:
            maintenance_page: 'public/maintenance.html'
            error_pages:
              403: 'public/403.html'
              451: 'public/451.html'
              501: 'public/501.html'
              502: 'public/502.html'
            error_pages_path: 'error_pages'
            web_backend_prefix: '/my_admin_console_prefix'
            consumers_debug_mode: true
            env_vars:
              COMPOSER_AUTH: '{"github-oauth":{"github.com":"token"}}'
              ORO_DEPLOYMENT_TYPE: 'local'
          webserver:
            header_x_frame: true
            header_x_frame_app_control: true
            redirects_map:
              '/about_us_old': '/about'
              ~/about(\d[a-z]): /about#$1
            redirects_map_include: ['redirects/website1.yml', '/mnt/maint-data/redirects.yml']
            locations:
              'root':
                type: 'php'
                satisfy: any
                location: '~ /index\.php(/|$)'
                auth_basic_enable: true
                auth_basic_userlist:
                  user1: {ensure: 'present', password: 'password1'}
                  user2: {ensure: 'absent', password: 'password2'}
              'de':
                type: 'php'
                location: '/de'
                fastcgi_param: {'WEBSITE': '$host/de'}
                allow: ['127.0.0.1', '127.0.0.2']
                deny: ['all']
            access_policy:
              'ip': {'type': 'allow', 'allow': ['127.0.0.1', '172.16.0.0/16'], 'deny': ['10.0.0.1']}
              'asn': {'type': 'allow', 'allow': ['31898'], 'deny': ['16591']}
              'country': {'type': 'deny', 'allow': ['US', 'CA']}
              'ua': {'allow': ['GoogleStackdriverMonitoring'], 'deny': ['AcoiRobot', 'Wget']}
              'uri': {'allow': ['~(^/api/(.*))']}
            limit_whitelist: ['8.8.8.8', '10.1.0.0/22', '2001:4860:4801:1::/64']
            limit_whitelist_uri: ['~(^/admin/test/(.*))']
            blackfire_options:
              agent_enabled: true
              apm_enabled: 1
              server_id: '<server-id>'
              server_token: '<server-token>'
              log_level: '1'
              log_path: '/var/log/blackfire/agent.log'
            newrelic_options: {license_key: 'shaike5fith3ieKahn4zae6iedeiphoo7Phoo1ca'}
          domains:
            oro-cloud.com:
              locations_merge: true
              maintenance_page: 'public/oro-cloud.html'
              header_x_frame_app_control: true
              redirects_map: {'/about_us_old': '/about'}
              redirects_map_include: ['redirects/website1.yml']
              locations:
                'en': {type: 'php', location: '/en', fastcgi_param: {'WEBSITE': '$host/en'}}
          mail:
            whitelist: ['example.com', 'example.org']
          schedule:
            'schedule1':
              command: 'orocloud-cli app:console "about"'
              minute: '*/5'
              hour: '8,12,16'
              month: '1-3'
              monthday: '*'
              weekday: 'mon-fri'
          elasticsearch:
            synonyms:
              '*': ['foo, bar, baz']
          consumers:
            - {queue: 'oro.index', processes: 4, memory_limit: 700}
            - {queue: 'oro.default'}
          maintenance: {downtime_duration: '1d3h15m', downtime_comment: 'LTS upgrade'}
          backup:
            enabled: true
            retention: {hourly_days: 7, weekly_weeks: 4, monthly_months: 12}
        """,
    )

    result = load(tmp_path)

    assert result.errors == [] and result.warnings == []


# ------------------------------------------------------------------------- which file is blamed


def test_errors_blame_the_file_and_line_that_set_the_value(tmp_path):
    common = write(
        tmp_path,
        "orocloud.yaml",
        """
        orocloud_options:
          mail:
            whitelist: ['bad domain']
          consumers:
            - queue: oro.default
            - queue: oro.index
          webserver:
            header_x_frame: true
        """,
    )
    overlay = write(
        tmp_path,
        "orocloud_prod.yaml",
        """
        orocloud_options:
          webserver:
            limit_whitelist: ['not-an-ip']
          consumers:
            - queue: oro.default
            - processes: 2
        """,
    )

    result = load(tmp_path)

    found = {(e.file, e.line, e.key_path) for e in result.errors}
    assert found == {
        (common, 3, "orocloud_options.mail.whitelist.0"),
        (overlay, 3, "orocloud_options.webserver.limit_whitelist.0"),
        # the overlay's list replaced the common one, so its second item is the overlay's
        (overlay, 6, "orocloud_options.consumers.1.queue"),
    }
    assert [e.file for e in result.errors] == [common, overlay, overlay], "errors come in reading order"


# ----------------------------------------------------------------------------- missing files


def test_missing_common_and_overlay_is_an_error(tmp_path):
    result = load(tmp_path)

    [error] = result.errors
    assert error.file == str(tmp_path / "orocloud.yaml")
    assert "not found" in error.reason and "orocloud_prod.yaml" in error.reason
    assert result.files == []


def test_overlay_only_is_validated_on_its_own(tmp_path):
    overlay = write(tmp_path, "orocloud_uat.yaml", "orocloud_options: {mail: {whitelist: [uat.example]}}\n")

    result = load(tmp_path, "testing")

    assert result.valid
    assert result.files == [overlay]
    assert result.common == {}
    assert result.config == {"orocloud_options": {"mail": {"whitelist": ["uat.example"]}}}
    [warning] = result.warnings
    assert warning.file == str(tmp_path / "orocloud.yaml") and "not found" in warning.reason


def test_overlay_only_still_reports_its_errors(tmp_path):
    overlay = write(tmp_path, "orocloud_dev.yaml", "orocloud_options: {consumers: [{}]}\n")

    [error] = load(tmp_path, "development").errors

    assert (error.file, error.key_path) == (overlay, "orocloud_options.consumers.0.queue")


def test_explicit_overlay_must_exist(tmp_path):
    write(tmp_path, "orocloud.yaml", "orocloud_options: {}\n")

    [error] = load(tmp_path, overlay="orocloud_typo.yaml").errors

    assert error.file == str(tmp_path / "orocloud_typo.yaml") and error.reason == "overlay file not found"


def test_overlay_naming_the_common_file_is_not_applied_twice(tmp_path):
    write(tmp_path, "orocloud.yaml", "orocloud_options: {}\n")

    result = load(tmp_path, overlay="orocloud.yaml")

    assert result.valid and result.files == [str(tmp_path / "orocloud.yaml")]
    assert "not applied a second time" in result.warnings[0].reason


def test_unreadable_directory_is_an_exception(tmp_path):
    with pytest.raises(occ.OroCloudConfigError, match="is not a directory"):
        load(tmp_path / "nowhere")


def test_missing_pyyaml_is_reported_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(occ, "_Loader", None)

    with pytest.raises(occ.OroCloudConfigError, match="PyYAML is required on the managed node"):
        load(tmp_path)


@pytest.mark.parametrize(
    "name", ["orocloud_stage.yaml", "orocloud.yml", "orocloud.prod.yaml", "orocloud_production.yaml"]
)
def test_lookalike_file_names_are_warned_about(tmp_path, name):
    write(tmp_path, "orocloud.yaml", "orocloud_options: {}\n")
    write(tmp_path, name, "orocloud_options: {}\n")

    result = load(tmp_path, "staging")

    assert result.valid
    [warning] = result.warnings
    assert warning.file == str(tmp_path / name) and warning.reason.startswith("ignored")


# ------------------------------------------------------------------------------ secrets, paths


def test_secrets_are_masked_and_inputs_untouched():
    document = {
        "orocloud_options": {
            "application": {"env_vars": {"COMPOSER_AUTH": "token"}, "maintenance_page": "m.html"},
            "webserver": {
                "locations": {
                    "root": {"location": "/", "auth_basic_userlist": {"u": {"ensure": "present", "password": "pw"}}}
                },
                "blackfire_options": {"server_id": "id", "server_token": "tok"},
                "newrelic_options": {"license_key": "lic"},
            },
            "domains": {
                "a.example": {"locations": {"x": {"location": "/", "auth_basic_userlist": {"v": {"password": "p2"}}}}}
            },
            "unknown": {"password": "kept"},
        }
    }
    original = copy.deepcopy(document)

    masked = occ.mask_secrets(document)

    options = masked["orocloud_options"]
    assert options["application"] == {"env_vars": {"COMPOSER_AUTH": occ.MASK}, "maintenance_page": "m.html"}
    assert options["webserver"]["locations"]["root"]["auth_basic_userlist"]["u"] == {
        "ensure": "present",
        "password": occ.MASK,
    }
    assert options["webserver"]["blackfire_options"] == {"server_id": "id", "server_token": occ.MASK}
    assert options["webserver"]["newrelic_options"] == {"license_key": occ.MASK}
    assert options["domains"]["a.example"]["locations"]["x"]["auth_basic_userlist"]["v"]["password"] == occ.MASK
    assert options["unknown"] == {"password": "kept"}
    assert document == original


def test_secret_values_are_not_echoed_in_reasons(tmp_path):
    write(tmp_path, "orocloud.yaml", "orocloud_options: {webserver: {newrelic_options: {license_key: '   '}}}\n")

    [error] = load(tmp_path).errors

    assert error.reason == "must not be empty"


@pytest.mark.parametrize(
    "path, expected",
    [
        (("orocloud_options", "consumers", 0, "queue"), "orocloud_options.consumers.0.queue"),
        (
            ("orocloud_options", "domains", "oro-cloud.com", "locations"),
            'orocloud_options.domains."oro-cloud.com".locations',
        ),
        (("orocloud_options", "application", "error_pages", 403), "orocloud_options.application.error_pages.403"),
        (("a", "with space", ""), 'a."with space".""'),
        ((), ""),
    ],
)
def test_format_path(path, expected):
    assert occ.format_path(path) == expected


def test_issue_rendering():
    issue = occ.ConfigIssue("/r/orocloud.yaml", ("orocloud_options", "mail"), "expected a mapping, got a list", line=4)

    assert str(issue) == "/r/orocloud.yaml:4: orocloud_options.mail: expected a mapping, got a list"
    assert issue.as_dict() == {
        "file": "/r/orocloud.yaml",
        "line": 4,
        "path": "orocloud_options.mail",
        "reason": "expected a mapping, got a list",
    }
    assert str(occ.ConfigIssue("/r/x.yaml", (), "not found")) == "/r/x.yaml: not found"


# ------------------------------------------------------------------------------- housekeeping


def test_every_schema_key_is_documented():
    """docs/configuration.md has a row for every named key (domain locations are documented as webserver's)."""
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = []
    for path, _node in occ.iter_schema():
        if path[0] != occ.TOP_KEY or len(path) == 1 or path[-1] in ("*", "[]"):
            continue
        name = ".".join(path[1:]).replace(".[]", "[]")
        name = name.replace("domains.*.locations.*.", "webserver.locations.*.")
        if "| `%s` |" % name not in doc:
            missing.append(name)
    assert missing == []


def test_backend_parses_as_python_3_9():
    source = Path(occ.__file__).read_text(encoding="utf-8")

    ast.parse(source, feature_version=(3, 9))
