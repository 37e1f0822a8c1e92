# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layered ``orocloud.yaml`` configuration: find, read, merge and validate.

OroCloud's maintenance agent reads ``orocloud.yaml`` from the root of the application repository and
merges an environment-type overlay over it: ``orocloud_dev.yaml``, ``orocloud_uat.yaml``,
``orocloud_stag.yaml`` or ``orocloud_prod.yaml``. This module does the same for the four environment
types of the collection and checks the result against ``SCHEMA``.

Merge rules (Oro documents the files, not the algorithm; these are ours, see docs/configuration.md):

* mappings merge recursively, key by key;
* a list or a scalar in the overlay replaces the value below it (lists are never concatenated);
* an explicit ``null`` removes the key (in the common file it simply means "not set");
* a file whose ``orocloud_options`` is empty (``null``) changes nothing.

Runs on managed nodes: Python 3.9+, the standard library, ``ansible.module_utils`` and PyYAML (which
ansible-core needs on the controller but does not ship to targets, so its absence is reported clearly).
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import os
import re

from ansible.module_utils.common.yaml import HAS_YAML, SafeLoader

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the target
    yaml = None

COMMON_FILE = "orocloud.yaml"
TOP_KEY = "orocloud_options"
# environment type of the collection -> suffix of Oro's overlay file (orocloud_<suffix>.yaml)
OVERLAY_SUFFIXES = {
    "development": "dev",
    "testing": "uat",
    "staging": "stag",
    "production": "prod",
}
ENVIRONMENT_TYPES = tuple(OVERLAY_SUFFIXES)
MASK = "********"
ORIGIN_ORO = "oro"
ORIGIN_COLLECTION = "orocloud.ops"

_YAML_REQUIRED = (
    "PyYAML is required on the managed node to read orocloud.yaml "
    "(install the python3-yaml package or 'pip install pyyaml' for the interpreter Ansible uses)"
)


class OroCloudConfigError(Exception):
    """The configuration cannot be examined at all (not: the configuration is invalid)."""


class ConfigIssue:
    """One finding: which file (and line), which key path, and why."""

    __slots__ = ("file", "line", "path", "reason")

    def __init__(self, file, path, reason, line=None):
        self.file = file
        self.path = tuple(path)
        self.reason = reason
        self.line = line

    @property
    def key_path(self):
        return format_path(self.path)

    def __str__(self):
        where = self.file if self.line is None else "%s:%d" % (self.file, self.line)
        if self.path:
            return "%s: %s: %s" % (where, self.key_path, self.reason)
        return "%s: %s" % (where, self.reason)

    def __repr__(self):
        return "ConfigIssue(%r)" % str(self)

    def as_dict(self):
        return {"file": self.file, "line": self.line, "path": self.key_path, "reason": self.reason}


class ConfigResult:
    """What `load_layered_config` found: the merged document, the files read and the findings."""

    def __init__(self, environment_type, overlay):
        self.environment_type = environment_type
        self.overlay = overlay  # the overlay file looked for (path)
        self.files = []  # files read, in merge order
        self.common = {}  # the common file alone, nulls removed
        self.config = {}  # common + overlay
        self.errors = []  # ConfigIssue
        self.warnings = []  # ConfigIssue

    @property
    def valid(self):
        return not self.errors


def format_path(path):
    """``('orocloud_options', 'consumers', 0, 'queue')`` -> ``orocloud_options.consumers.0.queue``.

    Keys holding a dot, blanks or nothing (domains, URLs) are double-quoted so the path stays readable.
    """
    parts = []
    for part in path:
        text = str(part)
        if not isinstance(part, int) and (text == "" or re.search(r"[.\s\"]", text)):
            text = '"%s"' % text.replace('"', '\\"')
        parts.append(text)
    return ".".join(parts)


def overlay_name(environment_type):
    """Oro's overlay file name for one of the collection's environment types."""
    try:
        return "orocloud_%s.yaml" % OVERLAY_SUFFIXES[environment_type]
    except KeyError:
        raise OroCloudConfigError(
            "unknown environment type %r; expected one of: %s" % (environment_type, ", ".join(ENVIRONMENT_TYPES))
        ) from None


# --------------------------------------------------------------------------------------------------
# Schema: one data structure. Nodes are plain dicts:
#   {"type": "dict", "keys": {...}, "required": (...), "requires": {key: (keys...)}, "shadows": {...}}
#   {"type": "map", "key": <scalar node>, "values": <node>, "unique_ci": bool}    free-form keys
#   {"type": "list", "elements": <node>, "unique_by": "<key>"}
#   {"type": ("str",) | ("int",) | ("bool",) | ("str", "int") ..., "choices", "pattern", "format", ...}
# Common attributes: "origin" (ORIGIN_ORO or ORIGIN_COLLECTION), "secret", "deprecated" (reason).
# --------------------------------------------------------------------------------------------------


def _dict(keys, required=(), requires=None, shadows=None, **extra):
    node = {"type": "dict", "keys": keys, "required": tuple(required)}
    node["requires"] = requires or {}
    node["shadows"] = shadows or {}
    node.update(extra)
    return node


def _map(values, key=None, **extra):
    node = {"type": "map", "key": key or _str(non_empty=True), "values": values}
    node.update(extra)
    return node


def _list(elements, **extra):
    node = {"type": "list", "elements": elements}
    node.update(extra)
    return node


def _scalar(kinds, **extra):
    node = {"type": tuple(kinds)}
    node.update(extra)
    return node


def _str(**extra):
    return _scalar(("str",), **extra)


def _int(**extra):
    return _scalar(("int",), **extra)


def _bool(**extra):
    return _scalar(("bool",), **extra)


def _cron(low, high):
    return _scalar(("str", "int"), format="cron", range=(low, high))


def _commands():
    return _list(_str(non_empty=True))


def _pattern(regex, doc):
    return {"pattern": re.compile(regex), "pattern_doc": doc}


def _location():
    return _dict(
        {
            "type": _str(choices=("php", "static", "rewrite")),
            "satisfy": _str(choices=("all", "any")),
            "location": _str(non_empty=True),
            "fastcgi_param": _map(_str()),
            "auth_basic_enable": _bool(),
            "auth_basic_userlist": _map(
                _dict(
                    {
                        "ensure": _str(choices=("present", "absent")),
                        "password": _str(non_empty=True, secret=True),
                    },
                    required=("ensure", "password"),
                )
            ),
            "allow": _list(_str(format="address_rule")),
            "deny": _list(_str(format="address_rule")),
        },
        required=("location",),
    )


def _access_rule(element):
    return _dict({"type": _str(choices=("allow", "deny")), "allow": _list(element), "deny": _list(element)})


def _redirects():
    return _map(_str(non_empty=True), unique_ci=True)


_QUEUE = _pattern(r"^[A-Za-z0-9_.-]+$", "letters, digits, '.', '_' and '-'")
_ENV_NAME = _pattern(r"^[A-Za-z_][A-Za-z0-9_]*$", "a shell variable name")
_BACKEND_PREFIX = _pattern(r"^/\S*[^/\s]$", "must start with '/' and must not end with '/'")
_COUNTRY = _pattern(r"^[A-Z]{2}$", "an ISO 3166 alpha-2 code such as 'US'")
_COMPOSER_CMD = _pattern(r"\{\{\s*composer_cmd\s*\}\}", "must contain the {{composer_cmd}} placeholder")
_DURATION = _pattern(r"^(?=\d)(\d+d)?(\d+h)?(\d+m)?$", "Oro's downtime format such as '1d3h15m' or '30m'")
_TASK_NAME = _pattern(r"^[A-Za-z0-9_.-]+$", "letters, digits, '.', '_' and '-'")

SCHEMA = _dict(
    {
        TOP_KEY: _dict(
            {
                # ---- keys documented by Oro (doc.oroinc.com/cloud/maintenance/advanced-use/ and siblings)
                "deployment": _dict(
                    {
                        "install_commands": _commands(),
                        "upgrade_commands": _commands(),
                        "pre_upgrade_commands": _commands(),
                        "post_upgrade_commands": _commands(),
                        "pre_maintenance_commands": _commands(),
                        "post_maintenance_commands": _commands(),
                        "git_clone_recursive": _bool(),
                        "composer_command": _str(**_COMPOSER_CMD),
                        "after_composer_install_commands": _list(
                            _str(non_empty=True),
                            deprecated="Oro deprecated it: it is incompatible with application packages",
                        ),
                        "db_extensions": _list(_str(non_empty=True)),
                        "before_backup_create_commands": _commands(),
                        "after_backup_create_commands": _commands(),
                        "sanitize": _dict(
                            {
                                "rawsql_add_rules": _list(_str(non_empty=True)),
                                "rawsql_delete_rules": _list(_str(non_empty=True)),
                                "rawsql_override_rules": _list(_str(non_empty=True)),
                                "update_add_rules": _list(_str(non_empty=True)),
                                "update_delete_rules": _list(_str(non_empty=True)),
                                "update_override_rules": _list(_str(non_empty=True)),
                                "custom_email_domain": _str(format="hostname"),
                            },
                            shadows={
                                "rawsql_override_rules": ("rawsql_add_rules", "rawsql_delete_rules"),
                                "update_override_rules": ("update_add_rules", "update_delete_rules"),
                            },
                        ),
                    }
                ),
                "application": _dict(
                    {
                        "maintenance_page": _str(non_empty=True),
                        "error_pages": _map(
                            _str(non_empty=True), key=_scalar(("int", "str"), format="http_error_code")
                        ),
                        "error_pages_path": _str(non_empty=True),
                        "web_backend_prefix": _str(**_BACKEND_PREFIX),
                        "consumers_debug_mode": _bool(),
                        "env_vars": _map(_str(non_empty=True, secret=True), key=_str(**_ENV_NAME)),
                    }
                ),
                "webserver": _dict(
                    {
                        "header_x_frame": _bool(),
                        "header_x_frame_app_control": _bool(),
                        "redirects_map": _redirects(),
                        "redirects_map_include": _list(_str(non_empty=True)),
                        "locations": _map(_location()),
                        "access_policy": _dict(
                            {
                                "ip": _access_rule(_str(format="ip_network")),
                                "asn": _access_rule(_scalar(("str", "int"), format="asn")),
                                "country": _access_rule(_str(**_COUNTRY)),
                                "ua": _access_rule(_str(non_empty=True)),
                                "uri": _access_rule(_str(non_empty=True)),
                            }
                        ),
                        "limit_whitelist": _list(_str(format="ip_network")),
                        "limit_whitelist_uri": _list(_str(non_empty=True)),
                        "blackfire_options": _dict(
                            {
                                "agent_enabled": _bool(),
                                "apm_enabled": _scalar(("bool", "int"), choices=(0, 1)),
                                "server_id": _str(),
                                "server_token": _str(secret=True),
                                "log_level": _scalar(("str", "int")),
                                "log_path": _str(non_empty=True),
                            }
                        ),
                        "newrelic_options": _dict({"license_key": _str(non_empty=True, secret=True)}),
                    }
                ),
                "domains": _map(
                    _dict(
                        {
                            "locations_merge": _bool(),
                            "maintenance_page": _str(non_empty=True),
                            "header_x_frame_app_control": _bool(),
                            "redirects_map": _redirects(),
                            "redirects_map_include": _list(_str(non_empty=True)),
                            "locations": _map(_location()),
                        }
                    ),
                    key=_str(format="hostname"),
                ),
                "mail": _dict({"whitelist": _list(_str(format="hostname"))}),
                "schedule": _map(
                    _dict(
                        {
                            "command": _str(non_empty=True),
                            "minute": _cron(0, 59),
                            "hour": _cron(0, 23),
                            "month": _cron(1, 12),
                            "monthday": _cron(1, 31),
                            "weekday": _cron(0, 7),
                        },
                        required=("command",),
                    ),
                    key=_str(**_TASK_NAME),
                ),
                "elasticsearch": _dict({"synonyms": _map(_list(_str(non_empty=True)))}),
                # ---- keys of this collection: what OroCloud's staff set through the service desk
                "consumers": _list(
                    _dict(
                        {
                            "queue": _str(**_QUEUE),
                            "processes": _int(min=1, max=64),
                            "memory_limit": _int(min=1),
                        },
                        required=("queue",),
                    ),
                    unique_by="queue",
                    origin=ORIGIN_COLLECTION,
                ),
                "maintenance": _dict(
                    {
                        "downtime_duration": _str(**_DURATION),
                        "downtime_comment": _str(non_empty=True),
                    },
                    requires={"downtime_duration": ("downtime_comment",)},
                    origin=ORIGIN_COLLECTION,
                ),
                "backup": _dict(
                    {
                        "enabled": _bool(),
                        "retention": _dict(
                            {
                                "hourly_days": _int(min=0),
                                "weekly_weeks": _int(min=0),
                                "monthly_months": _int(min=0),
                            }
                        ),
                    },
                    origin=ORIGIN_COLLECTION,
                ),
            }
        )
    }
)


def iter_schema(node=None, path=()):
    """Yield ``(path, node)`` for every node of the schema; map keys appear as ``*``, list items as ``[]``."""
    node = SCHEMA if node is None else node
    if path:
        yield path, node
    if node["type"] == "dict":
        for key, child in node["keys"].items():
            yield from iter_schema(child, (*path, key))
    elif node["type"] == "map":
        yield from iter_schema(node["values"], (*path, "*"))
    elif node["type"] == "list":
        yield from iter_schema(node["elements"], (*path, "[]"))


# --------------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------------


def merge(base, overlay):
    """Return ``overlay`` applied over ``base`` (both mappings); neither argument is modified."""
    return _merge_into(_merge_into({}, base), overlay)


def _merge_into(target, overlay):
    for key, value in overlay.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            below = target.get(key)
            target[key] = _merge_into(below if isinstance(below, dict) else {}, value)
        else:
            target[key] = copy.deepcopy(value)
    return target


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


_DESCRIPTIONS = (  # bool before int: a bool is an int in Python
    (type(None), "null"),
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "a mapping"),
)


def _describe(value):
    for kind, text in _DESCRIPTIONS:
        if isinstance(value, kind):
            return text
    return "a %s" % type(value).__name__


_KIND_TESTS = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
}
_KIND_NAMES = {"str": "a string", "int": "an integer", "bool": "a boolean"}


def _check_ip_network(value):
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return "is not an IP address or network: %r" % value
    return None


def _check_address_rule(value):
    if value in ("all", "any"):
        return None
    return _check_ip_network(value)


_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")


def _check_hostname(value):
    return None if _HOSTNAME.match(value) else "is not a domain name: %r" % value


def _check_http_error_code(value):
    if str(value) in ("403", "451", "501", "502", "503"):
        return None
    return "is not an error page Oro serves (403, 451, 501, 502 or 503): %r" % (value,)


def _check_asn(value):
    text = str(value)
    return None if text.isdigit() and int(text) > 0 else "is not an AS number: %r" % (value,)


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_NAMES = frozenset(_MONTHS + _WEEKDAYS)


def _check_cron(value, node):
    low, high = node["range"]
    for token in str(value).split(","):
        base, _sep, step = token.partition("/")
        if _sep and not (step.isdigit() and int(step) > 0):
            return "has an invalid step in %r" % (value,)
        if base == "*":
            continue
        for bound in base.split("-", 1):
            if bound.lower() in _CRON_NAMES:
                continue
            if not bound.isdigit():
                return "is not a cron expression: %r" % (value,)
            if not low <= int(bound) <= high:
                return "is out of range %d-%d: %r" % (low, high, value)
    return None


_FORMATS = {
    "ip_network": _check_ip_network,
    "address_rule": _check_address_rule,
    "hostname": _check_hostname,
    "http_error_code": _check_http_error_code,
    "asn": _check_asn,
}


def _check_scalar(node, value, path, out, what="value"):
    kinds = node["type"]
    secret = node.get("secret", False)
    if not any(_KIND_TESTS[kind](value) for kind in kinds):
        reason = "expected %s, got %s" % (" or ".join(_KIND_NAMES[k] for k in kinds), _describe(value))
        if kinds == ("str",) and isinstance(value, (bool, int, float)):
            reason += " (quote it: Oro asks for single-quoted strings)"
        if what != "value":
            reason = "%s: %s" % (what, reason)
        out.append(("error", path, reason))
        return
    problem = None
    choices = node.get("choices")
    if choices is not None and value not in choices:
        problem = "must be one of: %s" % ", ".join(str(c) for c in choices)
        if not secret:
            problem += " (got %r)" % (value,)
    elif isinstance(value, str) and node.get("non_empty") and not value.strip():
        problem = "must not be empty"
    elif isinstance(value, str) and "pattern" in node and not node["pattern"].search(value):
        problem = node["pattern_doc"] if secret else "%s (got %r)" % (node["pattern_doc"], value)
    elif (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (value < node.get("min", value) or value > node.get("max", value))
    ):
        problem = "must be between %s and %s (got %d)" % (node.get("min", "-inf"), node.get("max", "inf"), value)
    elif node.get("format") == "cron":
        problem = _check_cron(value, node)
    elif "format" in node:
        problem = _FORMATS[node["format"]](value)
    if problem:
        out.append(("error", path, problem if what == "value" else "%s: %s" % (what, problem)))


def _unknown_key(node, key, path, out, strict):
    known = [str(k) for k in node["keys"]]
    reason = "unknown key"
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.7)
    if close:
        reason += " (did you mean %r?)" % close[0]
    elif known:
        reason += "; expected one of: %s" % ", ".join(sorted(known))
    out.append(("error" if strict else "warning", (*path, key), reason))


def _check(node, value, path, out, strict):
    kind = node["type"]
    if kind not in _CONTAINERS:
        _check_scalar(node, value, path, out)
        return
    container, name, check = _CONTAINERS[kind]
    if not isinstance(value, container):
        out.append(("error", path, "expected %s, got %s" % (name, _describe(value))))
        return
    check(node, value, path, out, strict)


def _check_dict(node, value, path, out, strict):
    for key, child_value in value.items():
        child = node["keys"].get(key)
        if child is None:
            _unknown_key(node, key, path, out, strict)
            continue
        if child.get("deprecated"):
            out.append(("warning", (*path, key), "deprecated: %s" % child["deprecated"]))
        _check(child, child_value, (*path, key), out, strict)
    for key in node["required"]:
        if key not in value:
            out.append(("error", (*path, key), "required key is missing"))
    for key, needed in node["requires"].items():
        for other in needed:
            if key in value and other not in value:
                out.append(("error", (*path, other), "required when %r is set" % key))
    for key, shadowed in node["shadows"].items():
        for other in shadowed:
            if key in value and other in value:
                out.append(("warning", (*path, other), "ignored by Oro because %r is set" % key))


def _check_map(node, value, path, out, strict):
    seen = {}
    for key, child_value in value.items():
        _check_scalar(node["key"], key, (*path, key), out, what="key")
        if node.get("unique_ci") and isinstance(key, str):
            folded = key.lower()
            if folded in seen:
                reason = "duplicate of %r (Oro compares these case-insensitively)" % seen[folded]
                out.append(("error", (*path, key), reason))
            seen.setdefault(folded, key)
        _check(node["values"], child_value, (*path, key), out, strict)


def _check_list(node, value, path, out, strict):
    unique_by = node.get("unique_by")
    seen = {}
    for index, item in enumerate(value):
        _check(node["elements"], item, (*path, index), out, strict)
        if unique_by and isinstance(item, dict) and isinstance(item.get(unique_by), str):
            name = item[unique_by]
            if name in seen:
                out.append(("error", (*path, index, unique_by), "duplicate %r (already item %d)" % (name, seen[name])))
            seen.setdefault(name, index)


_CONTAINERS = {
    "dict": (dict, "a mapping", _check_dict),
    "map": (dict, "a mapping", _check_map),
    "list": (list, "a list", _check_list),
}


def validate(document, strict=True):
    """Check a merged document against `SCHEMA`.

    Returns ``[(severity, path, reason), ...]`` with severity ``error`` or ``warning``; unknown keys are
    errors when ``strict`` else warnings.
    """
    out = []
    _check(SCHEMA, document, (), out, strict)
    return out


def mask_secrets(document, node=None):
    """Return a copy of ``document`` with the values of schema nodes marked ``secret`` replaced by `MASK`."""
    node = SCHEMA if node is None else node
    kind = node["type"]
    if kind == "dict" and isinstance(document, dict):
        return {
            key: mask_secrets(value, node["keys"][key]) if key in node["keys"] else copy.deepcopy(value)
            for key, value in document.items()
        }
    if kind == "map" and isinstance(document, dict):
        return {key: mask_secrets(value, node["values"]) for key, value in document.items()}
    if kind == "list" and isinstance(document, list):
        return [mask_secrets(item, node["elements"]) for item in document]
    if node.get("secret") and document is not None:
        return MASK
    return copy.deepcopy(document)


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------

if HAS_YAML and yaml is not None:

    class _Loader(SafeLoader):  # pylint: disable=too-many-ancestors
        """Safe loader that keeps timestamps as the text written (Oro's values are strings)."""

    _Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)
else:  # pragma: no cover - depends on the target
    _Loader = None


class _Layer:
    """One file: its document and, per key path, the line it starts on and whether it is a mapping."""

    def __init__(self, file):
        self.file = file
        self.document = {}
        self.index = {}


def _index_nodes(loader, node, path, *, line, layer, issues, stack):
    if id(node) in stack:  # recursive alias
        return
    layer.index[path] = (line, isinstance(node, yaml.MappingNode))
    stack = stack | {id(node)}
    if isinstance(node, yaml.MappingNode):
        first_seen = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = loader.construct_object(key_node)
            key_line = key_node.start_mark.line + 1
            if key in first_seen:
                issues.append(
                    ConfigIssue(
                        layer.file,
                        (*path, key),
                        "duplicate key (first at line %d); Oro rejects duplicate keys" % first_seen[key],
                        line=key_line,
                    )
                )
            first_seen.setdefault(key, key_line)
            _index_nodes(loader, value_node, (*path, key), line=key_line, layer=layer, issues=issues, stack=stack)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_nodes(
                loader, item, (*path, index), line=item.start_mark.line + 1, layer=layer, issues=issues, stack=stack
            )


def _syntax_issue(file, exc, source):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    text = ", ".join(part for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part)
    reason = "YAML syntax error: %s" % (text or exc)
    if mark is None:
        return ConfigIssue(file, (), reason)
    reason = "%s (column %d)" % (reason, mark.column + 1)
    lines = source.splitlines()
    if mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        reason += "; Oro: indent orocloud.yaml with spaces only, never tabs"
    return ConfigIssue(file, (), reason, line=mark.line + 1)


def parse_document(text, file):
    """Parse one YAML document; return ``(layer, issues)``. Syntax errors become issues, not exceptions."""
    if _Loader is None:
        raise OroCloudConfigError(_YAML_REQUIRED)
    layer = _Layer(file)
    issues = []
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return layer, issues
        _index_nodes(loader, node, (), line=1, layer=layer, issues=issues, stack=frozenset())
        loader.constructed_objects = {}
        document = loader.construct_document(node)
    except yaml.YAMLError as exc:
        layer.index = {}
        return layer, [_syntax_issue(file, exc, text)]
    finally:
        loader.dispose()
    if document is None:  # "---" and nothing else
        return layer, issues
    if not isinstance(document, dict):
        issues.append(
            ConfigIssue(file, (), "expected a mapping with the key %r, got %s" % (TOP_KEY, _describe(document)), line=1)
        )
        layer.index = {}
        return layer, issues
    if TOP_KEY in document and document[TOP_KEY] is None:
        document[TOP_KEY] = {}
    layer.document = document
    return layer, issues


def read_layer(file):
    """Read and parse one file; return ``(layer, issues)``."""
    try:
        with open(file, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return _Layer(file), [ConfigIssue(file, (), "cannot be read: %s" % (exc.strerror or exc))]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _Layer(file), [ConfigIssue(file, (), "is not UTF-8 text (byte %d)" % exc.start)]
    return parse_document(text, file)


def _locate(layers, path):
    """Which file (and line) gave the merged value at ``path``: the last layer that replaced it."""
    best = None
    for layer in layers:
        for depth in range(len(path), -1, -1):
            if path[:depth] in layer.index:
                # a list or scalar on the way down replaced whatever earlier layers had below it
                replaced = any(not layer.index[path[:k]][1] for k in range(depth + 1))
                if best is None or replaced or depth >= best[1]:
                    best = (layer.file, depth, layer.index[path[:depth]][0])
                break
    return (best[0], best[2]) if best else (None, None)


_KNOWN_NAMES = frozenset([COMMON_FILE] + [overlay_name(t) for t in ENVIRONMENT_TYPES])
_LOOKALIKE = re.compile(r"^orocloud[._-].*\.ya?ml$|^orocloud\.yml$", re.IGNORECASE)


def _stray_files(directory):
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    return [name for name in names if _LOOKALIKE.match(name) and name not in _KNOWN_NAMES]


def _read_layers(result, common_file, overlay_file, explicit_overlay):
    """Read the files that exist, in merge order; return ``(layers, common_layer)``."""
    layers = []
    common_layer = None
    for file, is_common in ((common_file, True), (overlay_file, False)):
        if not is_common and os.path.realpath(file) == os.path.realpath(common_file):
            result.warnings.append(ConfigIssue(file, (), "is the common file; not applied a second time as overlay"))
            continue
        if not os.path.exists(file):
            if not is_common and explicit_overlay:
                result.errors.append(ConfigIssue(file, (), "overlay file not found"))
            continue
        layer, issues = read_layer(file)
        result.files.append(file)
        result.errors.extend(issues)
        layers.append(layer)
        if is_common:
            common_layer = layer

    if common_layer is None and layers:
        result.warnings.append(ConfigIssue(common_file, (), "not found; the overlay is validated on its own"))
    elif common_layer is None and not result.errors:
        missing = "not found, and no %s either: nothing to validate" % os.path.basename(overlay_file)
        result.errors.append(ConfigIssue(common_file, (), missing))
    return layers, common_layer


def load_layered_config(path, environment_type, overlay=None, strict=True):
    """Find, read, merge and validate the configuration in directory ``path`` for ``environment_type``.

    ``overlay`` overrides the overlay file (a name relative to ``path`` or an absolute path); when given,
    the file must exist. Raises `OroCloudConfigError` only when nothing can be examined (no PyYAML, no
    directory, unknown type); everything wrong with the files themselves is in ``result.errors``.
    """
    default_overlay = overlay_name(environment_type)
    if _Loader is None:
        raise OroCloudConfigError(_YAML_REQUIRED)
    if not os.path.isdir(path):
        raise OroCloudConfigError("%s is not a directory (expected the directory holding %s)" % (path, COMMON_FILE))

    common_file = os.path.join(path, COMMON_FILE)
    overlay_file = os.path.join(path, overlay or default_overlay)
    result = ConfigResult(environment_type, overlay_file)
    layers, common_layer = _read_layers(result, common_file, overlay_file, bool(overlay))

    for name in _stray_files(path):
        stray = "ignored: Oro reads only %s and orocloud_{dev,uat,stag,prod}.yaml" % COMMON_FILE
        result.warnings.append(ConfigIssue(os.path.join(path, name), (), stray))

    merged = {}
    for layer in layers:
        _merge_into(merged, layer.document)
    result.config = merged
    result.common = _merge_into({}, common_layer.document) if common_layer else {}

    for severity, key_path, reason in validate(merged, strict=strict):
        file, line = _locate(layers, key_path)
        issue = ConfigIssue(file or common_file, key_path, reason, line=line)
        (result.errors if severity == "error" else result.warnings).append(issue)

    def _reading_order(issue):
        return (result.files.index(issue.file) if issue.file in result.files else -1, issue.line or 0)

    result.errors.sort(key=_reading_order)
    result.warnings.sort(key=_reading_order)
    return result
