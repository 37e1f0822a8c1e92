# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OroCommerce environment model.

One YAML file describes one environment; a set of files is a fleet. This module loads and validates
them (types, unknown keys, topology rules per environment type, network rules, profile overrides,
fleet-wide uniqueness) and computes the inventory (host names, groups, hostvars) as plain JSON data.

Pure controller-side code without Ansible objects: the inventory plugin ``orocloud.ops.environment``
calls it, the unit tests call it directly. ``docs/environment.md`` documents the file format, the
rules, the tables and the inventory shape defined here; keep both in step.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import json
import os
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final, TypeVar, Union

import yaml

try:
    from yaml import CSafeLoader as _YamlLoaderBase
except ImportError:  # PyYAML built without libyaml: same results, slower
    from yaml import SafeLoader as _YamlLoaderBase  # type: ignore[assignment]

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_E = TypeVar('_E', bound=enum.StrEnum)


# --------------------------------------------------------------------------------------------------
# Vocabulary


class EnvType(enum.StrEnum):
    """Environment types of the OroCommerce project lifecycle."""

    DEVELOPMENT = 'development'
    TESTING = 'testing'
    STAGING = 'staging'
    PRODUCTION = 'production'

    @property
    def multi_host(self) -> bool:
        return self in (EnvType.STAGING, EnvType.PRODUCTION)


class Deployment(enum.StrEnum):
    """Deployment types of the seed's support table."""

    OROCLOUD = 'orocloud'
    PUBLIC_CLOUD = 'public_cloud'
    PRIVATE_CLOUD = 'private_cloud'
    ON_PREMISE = 'on_premise'


class Role(enum.StrEnum):
    """Node roles; one Ansible group ``role_<role>`` each."""

    LOAD_BALANCER = 'load_balancer'
    WEB = 'web'
    CONSUMER = 'consumer'
    CRON = 'cron'
    DATABASE = 'database'
    CACHE = 'cache'
    MESSAGE_QUEUE = 'message_queue'
    SEARCH = 'search'
    BRIDGE = 'bridge'
    VPN_GATEWAY = 'vpn_gateway'
    NAT = 'nat'
    MAINTENANCE = 'maintenance'


#: Roles every environment needs (on its single node, or spread over the application subnet).
APPLICATION_ROLES: Final = (
    Role.WEB, Role.CONSUMER, Role.CRON, Role.DATABASE, Role.CACHE, Role.MESSAGE_QUEUE,
)
#: Roles that multi-host environments put on a node of their own (edge and network nodes).
DEDICATED_ROLES: Final = (Role.LOAD_BALANCER, Role.BRIDGE, Role.VPN_GATEWAY, Role.NAT)
#: Roles that only exist in multi-host environments (they join or guard the two subnets).
NETWORK_ROLES: Final = (Role.BRIDGE, Role.VPN_GATEWAY, Role.NAT)
#: How many nodes carry each role in a multi-host environment: (at least, at most or None).
MULTI_HOST_NODES: Final[Mapping[Role, tuple[int, int | None]]] = MappingProxyType({
    Role.LOAD_BALANCER: (1, None),
    Role.WEB: (2, None),
    Role.CONSUMER: (1, None),
    Role.CRON: (1, 1),  # oro:cron must not run twice
    Role.DATABASE: (1, None),
    Role.CACHE: (1, None),
    Role.MESSAGE_QUEUE: (1, None),
    Role.BRIDGE: (1, 1),
    Role.VPN_GATEWAY: (1, 1),
    Role.NAT: (1, 1),
})
#: Which node roles may carry which optional address keys.
ADDRESS_KEY_ROLES: Final[Mapping[str, frozenset[Role]]] = MappingProxyType({
    'dmz_address': frozenset({Role.BRIDGE}),
    'public_address': frozenset({Role.LOAD_BALANCER, Role.VPN_GATEWAY, Role.NAT}),
})


class Subnet(enum.StrEnum):
    APPLICATION = 'application'
    DMZ = 'dmz'


class Mail(enum.StrEnum):
    """Outgoing mail policy."""

    NONE = 'none'
    ALLOW_LIST = 'allow_list'
    UNRESTRICTED = 'unrestricted'


class Data(enum.StrEnum):
    """The most sensitive data an environment may hold."""

    MINIMAL = 'minimal'      # fixture data, or a sanitized dump on request; never live data
    SANITIZED = 'sanitized'  # full-volume sanitized dumps; never live data
    LIVE = 'live'            # live production data


class BackupFrequency(enum.StrEnum):
    HOURLY = 'hourly'
    DAILY = 'daily'
    WEEKLY = 'weekly'
    MONTHLY = 'monthly'


class Service(enum.StrEnum):
    """The seed's infrastructure services."""

    APPLICATION_SUPPORT = 'application_support'
    APPLICATION_OPERATIONS = 'application_operations'
    MAINTENANCE_TOOLS = 'maintenance_tools'
    PATCH_MANAGEMENT = 'patch_management'  # "Patch and Vulnerability Management"
    DISASTER_RECOVERY = 'disaster_recovery'
    INFRASTRUCTURE_SERVICES = 'infrastructure_services'
    ACCESS_MANAGEMENT = 'access_management'
    BILLING_MANAGEMENT = 'billing_management'


class Support(enum.StrEnum):
    FULL = 'full'
    SUPPORTABLE = 'supportable'
    NONE = 'none'


# --------------------------------------------------------------------------------------------------
# Tables


def _support_row(*levels: Support) -> Mapping[Service, Support]:
    return MappingProxyType(dict(zip(Service, levels, strict=True)))


_F, _S, _N = Support.FULL, Support.SUPPORTABLE, Support.NONE

#: The seed's service-support table: which services each deployment type gets. Columns in the
#: order of ``Service``: application support, application operations, maintenance tools, patch and
#: vulnerability management, disaster recovery, infrastructure services, access management, billing.
SERVICE_SUPPORT: Final[Mapping[Deployment, Mapping[Service, Support]]] = MappingProxyType({
    Deployment.OROCLOUD: _support_row(_F, _F, _F, _F, _F, _F, _F, _F),
    Deployment.PUBLIC_CLOUD: _support_row(_F, _F, _F, _F, _S, _S, _S, _N),
    Deployment.PRIVATE_CLOUD: _support_row(_F, _F, _F, _F, _S, _N, _N, _N),
    Deployment.ON_PREMISE: _support_row(_F, _N, _N, _N, _N, _N, _N, _N),
})


def is_managed(level: Support | str) -> bool:
    """The collection manages a service unless the deployment type gives it no support at all."""
    return Support(level) is not Support.NONE


def managed_services(deployment: Deployment | str) -> tuple[Service, ...]:
    """Services the collection manages for a deployment type, in table order."""
    row = SERVICE_SUPPORT[Deployment(deployment)]
    return tuple(service for service, level in row.items() if is_managed(level))


@dataclass(frozen=True, slots=True)
class Profile:
    """What an environment type allows and keeps; one row of ``PROFILES``."""

    dev_mode_allowed: bool
    mail: Mail
    mail_allow_list: tuple[str, ...]
    #: Backup tiers: (frequency, number of backups kept), most frequent first.
    backups: tuple[tuple[BackupFrequency, int], ...]
    disaster_recovery: bool
    data: Data

    def as_dict(self) -> dict[str, Any]:
        """The ``orocloud_profile`` hostvar (JSON types only)."""
        return {
            'dev_mode_allowed': self.dev_mode_allowed,
            'mail': str(self.mail),
            'mail_allow_list': list(self.mail_allow_list),
            'backups': {str(frequency): kept for frequency, kept in self.backups},
            'disaster_recovery': self.disaster_recovery,
            'data': str(self.data),
        }


#: Env-type profiles (defaults from Oro's documentation; an environment file may override keys
#: under ``profile:`` as long as the result does not contradict its type, see ``profile_problems``).
#: Backups count copies kept: production keeps hourly backups for 7 days (168), weekly for 4 weeks
#: and monthly for 12 months; testing ~1 week and staging ~2 weeks of daily backups.
PROFILES: Final[Mapping[EnvType, Profile]] = MappingProxyType({
    EnvType.DEVELOPMENT: Profile(
        dev_mode_allowed=True, mail=Mail.NONE, mail_allow_list=(), backups=(),
        disaster_recovery=False, data=Data.MINIMAL),
    EnvType.TESTING: Profile(
        dev_mode_allowed=True, mail=Mail.ALLOW_LIST, mail_allow_list=(),
        backups=((BackupFrequency.DAILY, 7),), disaster_recovery=False, data=Data.MINIMAL),
    EnvType.STAGING: Profile(
        dev_mode_allowed=False, mail=Mail.ALLOW_LIST, mail_allow_list=(),
        backups=((BackupFrequency.DAILY, 14),), disaster_recovery=False, data=Data.SANITIZED),
    EnvType.PRODUCTION: Profile(
        dev_mode_allowed=False, mail=Mail.UNRESTRICTED, mail_allow_list=(),
        backups=((BackupFrequency.HOURLY, 168), (BackupFrequency.WEEKLY, 4),
                 (BackupFrequency.MONTHLY, 12)),
        disaster_recovery=True, data=Data.LIVE),
})


def profile_problems(env_type: EnvType, profile: Profile) -> list[tuple[str, str]]:
    """Ways a profile contradicts its environment type, as (key under ``profile``, message)."""
    problems: list[tuple[str, str]] = []
    if profile.dev_mode_allowed and env_type.multi_host:
        problems.append(('dev_mode_allowed',
                         f'application dev mode is not allowed in a {env_type} environment'))
    if profile.mail is Mail.UNRESTRICTED and env_type is not EnvType.PRODUCTION:
        problems.append(('mail', f'unrestricted outgoing mail is for production only; a {env_type} '
                                 'environment sends none or only to profile.mail_allow_list'))
    if profile.mail_allow_list and profile.mail is not Mail.ALLOW_LIST:
        problems.append(('mail_allow_list',
                         f'is only used with mail: allow_list (mail is {profile.mail})'))
    if profile.data is Data.LIVE and env_type is not EnvType.PRODUCTION:
        problems.append(('data', f'live data is for production only, not a {env_type} environment'))
    if profile.data is not Data.LIVE and env_type is EnvType.PRODUCTION:
        problems.append(('data', 'a production environment holds live data'))
    if not profile.backups and env_type is EnvType.PRODUCTION:
        problems.append(('backups', 'a production environment must keep backups'))
    if profile.disaster_recovery and not profile.backups:
        problems.append(('disaster_recovery',
                         'disaster recovery restores the latest backup: profile.backups is empty'))
    return problems


# --------------------------------------------------------------------------------------------------
# The environment


@dataclass(frozen=True, slots=True)
class Network:
    application: IPNetwork
    dmz: IPNetwork | None
    edge_sources: tuple[IPNetwork, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The ``orocloud_network`` hostvar."""
        return {
            'application': str(self.application),
            'dmz': None if self.dmz is None else str(self.dmz),
            'edge_sources': [str(net) for net in self.edge_sources],
        }


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    roles: tuple[Role, ...]
    address: IPAddress
    dmz_address: IPAddress | None = None
    public_address: IPAddress | None = None

    @property
    def subnet(self) -> Subnet:
        """The node's home subnet, where ``address`` lives."""
        return Subnet.DMZ if Role.VPN_GATEWAY in self.roles else Subnet.APPLICATION


@dataclass(frozen=True, slots=True)
class Environment:
    project: str
    name: str
    type: EnvType
    deployment: Deployment
    application_version: str
    network: Network
    nodes: tuple[Node, ...]
    profile: Profile
    #: Keys set under ``profile:`` in the file (the rest are the type's defaults).
    profile_overrides: frozenset[str] = frozenset()
    #: How messages name the file (path relative to the inventory config, usually).
    source: str = ''

    @property
    def ident(self) -> str:
        return f'{self.project}/{self.name}'

    def nodes_with(self, role: Role) -> tuple[Node, ...]:
        return tuple(node for node in self.nodes if role in node.roles)

    @property
    def bridge(self) -> Node | None:
        bridges = self.nodes_with(Role.BRIDGE)
        return bridges[0] if len(bridges) == 1 else None


# --------------------------------------------------------------------------------------------------
# Errors


class EnvironmentFileError(ValueError):
    """One or more problems in environment files; each names its file, environment and key path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__('\n'.join(self.problems))


@dataclass(slots=True)
class _Report:
    """Collects the problems of one file, each prefixed with the file and environment."""

    source: str
    env: str | None = None
    problems: list[str] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        prefix = f'{self.source}: '
        if self.env:
            prefix += f'environment {self.env}: '
        self.problems.append(f'{prefix}{path}: {message}' if path else f'{prefix}{message}')

    def raise_if_any(self) -> None:
        if self.problems:
            raise EnvironmentFileError(self.problems)


# --------------------------------------------------------------------------------------------------
# YAML


class _Loader(_YamlLoaderBase):  # pylint: disable=too-many-ancestors
    """Safe loader (libyaml when available) that refuses duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != 'tag:yaml.org,2002:merge':
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        'while constructing a mapping', node.start_mark,
                        f'found duplicate key {key_node.value!r}', key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, 'problem_mark', None)
    problem = getattr(exc, 'problem', None) or str(exc)
    if mark is None:
        return f'malformed YAML: {problem}'
    return f'malformed YAML: line {mark.line + 1}, column {mark.column + 1}: {problem}'


def read_yaml(raw: bytes | str, source: str) -> Any:
    """Parse one YAML document; malformed YAML and duplicate keys raise ``EnvironmentFileError``."""
    try:
        return yaml.load(raw, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise EnvironmentFileError([f'{source}: {_yaml_problem(exc)}']) from exc


# --------------------------------------------------------------------------------------------------
# Parsing: keys and types


NAME_PATTERN: Final = re.compile(r'[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?')
VERSION_PATTERN: Final = re.compile(r'(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)')
DOMAIN_PATTERN: Final = re.compile(
    r'(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]')

_TOP_KEYS: Final = ('project', 'environment', 'type', 'deployment', 'application', 'network',
                    'profile', 'nodes')
_TOP_REQUIRED: Final = frozenset(_TOP_KEYS) - {'profile'}
_APPLICATION_KEYS: Final = ('version',)
_NETWORK_KEYS: Final = ('application', 'dmz', 'edge_sources')
_NODE_KEYS: Final = ('roles', 'address', 'dmz_address', 'public_address')
_PROFILE_KEYS: Final = ('dev_mode_allowed', 'mail', 'mail_allow_list', 'backups',
                        'disaster_recovery', 'data')


_KINDS: Final = ((bool, 'a boolean'), (int, 'an integer'), (float, 'a number'), (str, 'a string'),
                 (list, 'a list'), (dict, 'a mapping'), (type(None), 'null'))


def _kind(value: object) -> str:
    """How messages name a YAML value's type."""
    return next((name for cls, name in _KINDS if isinstance(value, cls)), f'a {type(value).__name__}')


def _join(path: str, key: object) -> str:
    return f'{path}.{key}' if path else str(key)


def _mapping(report: _Report, value: object, path: str, keys: Sequence[str],
             required: Iterable[str] = ()) -> dict[str, Any] | None:
    """Check a mapping's type, unknown keys and required keys; ``None`` when not a mapping."""
    if not isinstance(value, dict):
        report.add(path, f'must be a mapping, not {_kind(value)}')
        return None
    for key in value:
        if key not in keys:
            report.add(_join(path, key), f"unknown key (expected one of: {', '.join(keys)})")
    for key in required:
        if key not in value:
            report.add(_join(path, key), 'required key is missing')
    return value


def _string(report: _Report, value: object, path: str) -> str | None:
    if isinstance(value, str):
        return value
    hint = ' (quote it)' if isinstance(value, (int, float)) else ''
    report.add(path, f'must be a string, not {_kind(value)}{hint}')
    return None


def _name(report: _Report, value: object, path: str) -> str | None:
    text = _string(report, value, path)
    if text is not None and not NAME_PATTERN.fullmatch(text):
        report.add(path, f'{text!r} is not a valid name (lower-case letters, digits and inner '
                         'hyphens, at most 32 characters)')
        return None
    return text


def _choice(report: _Report, value: object, path: str, enum_type: type[_E]) -> _E | None:
    text = _string(report, value, path)
    if text is None:
        return None
    try:
        return enum_type(text)
    except ValueError:
        report.add(path, f"{text!r} is not one of: {', '.join(enum_type)}")
        return None


def _boolean(report: _Report, value: object, path: str) -> bool | None:
    if isinstance(value, bool):
        return value
    report.add(path, f'must be a boolean, not {_kind(value)}')
    return None


def _list(report: _Report, value: object, path: str) -> list[Any] | None:
    if isinstance(value, list):
        return value
    report.add(path, f'must be a list, not {_kind(value)}')
    return None


def _address(report: _Report, value: object, path: str) -> IPAddress | None:
    text = _string(report, value, path)
    if text is None:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        report.add(path, f'{text!r} is not an IP address')
        return None


def _network(report: _Report, value: object, path: str) -> IPNetwork | None:
    text = _string(report, value, path)
    if text is None:
        return None
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        report.add(path, f'{text!r} is not a network in CIDR notation ({exc})')
        return None


def _parse_network(report: _Report, value: object) -> Network | None:
    data = _mapping(report, value, 'network', _NETWORK_KEYS, required=('application',))
    if data is None:
        return None
    application = _network(report, data['application'], 'network.application') \
        if 'application' in data else None
    dmz = _network(report, data['dmz'], 'network.dmz') if data.get('dmz') is not None else None
    edge: list[IPNetwork] = []
    items = _list(report, data.get('edge_sources', []), 'network.edge_sources')
    for index, item in enumerate(items or ()):
        net = _network(report, item, f'network.edge_sources[{index}]')
        if net is not None:
            edge.append(net)
    if application is None:
        return None
    return Network(application=application, dmz=dmz, edge_sources=tuple(edge))


def _parse_node(report: _Report, name: object, value: object) -> Node | None:
    path = f'nodes.{name}'
    valid_name = _name(report, name, f'nodes.{name}') if isinstance(name, str) else None
    if not isinstance(name, str):
        report.add(path, f'node names must be strings, not {_kind(name)}')
    data = _mapping(report, value, path, _NODE_KEYS, required=('roles', 'address'))
    if data is None:
        return None
    roles: list[Role] = []
    items = _list(report, data['roles'], f'{path}.roles') if 'roles' in data else None
    if items is not None and not items:
        report.add(f'{path}.roles', 'must name at least one role')
    for index, item in enumerate(items or ()):
        role = _choice(report, item, f'{path}.roles[{index}]', Role)
        if role is not None:
            if role in roles:
                report.add(f'{path}.roles[{index}]', f'{role} is listed twice')
            else:
                roles.append(role)
    address = _address(report, data['address'], f'{path}.address') if 'address' in data else None
    optional: dict[str, IPAddress | None] = {}
    for key, allowed in ADDRESS_KEY_ROLES.items():
        if data.get(key) is None:
            optional[key] = None
            continue
        optional[key] = _address(report, data[key], f'{path}.{key}')
        if roles and not allowed.intersection(roles):
            report.add(f'{path}.{key}', 'only a node with role '
                       f"{' or '.join(sorted(allowed))} has a {key}")
    if valid_name is None or address is None or items is None or len(roles) != len(items):
        return None
    return Node(name=valid_name, roles=tuple(roles), address=address, **optional)


def _parse_domains(report: _Report, value: object) -> tuple[str, ...] | None:
    items = _list(report, value, 'profile.mail_allow_list')
    if items is None:
        return None
    domains: list[str] = []
    for index, item in enumerate(items):
        path = f'profile.mail_allow_list[{index}]'
        domain = _string(report, item, path)
        if domain is not None and DOMAIN_PATTERN.fullmatch(domain.lower()):
            domains.append(domain.lower())
        elif domain is not None:
            report.add(path, f'{domain!r} is not a domain name')
    return tuple(domains) if len(domains) == len(items) else None


def _parse_backups(report: _Report, value: object) -> tuple[tuple[BackupFrequency, int], ...] | None:
    data = _mapping(report, {} if value is None else value, 'profile.backups',
                    tuple(BackupFrequency))
    if data is None:
        return None
    tiers: list[tuple[BackupFrequency, int]] = []
    for frequency in BackupFrequency:
        kept = data.get(frequency)
        if kept is None:
            continue
        if isinstance(kept, int) and not isinstance(kept, bool) and kept >= 1:
            tiers.append((frequency, kept))
        else:
            report.add(f'profile.backups.{frequency}',
                       f'must be a positive integer (backups kept), not {kept!r}')
    return tuple(tiers)


def _parse_profile(report: _Report, value: object, env_type: EnvType | None) -> tuple[
        Profile | None, frozenset[str]]:
    """The type's profile with the file's overrides applied (``None`` when they are malformed)."""
    data = _mapping(report, {} if value is None else value, 'profile', _PROFILE_KEYS)
    if data is None or env_type is None:
        return None, frozenset()
    parsers = {
        'dev_mode_allowed': lambda v: _boolean(report, v, 'profile.dev_mode_allowed'),
        'disaster_recovery': lambda v: _boolean(report, v, 'profile.disaster_recovery'),
        'mail': lambda v: _choice(report, v, 'profile.mail', Mail),
        'data': lambda v: _choice(report, v, 'profile.data', Data),
        'mail_allow_list': lambda v: _parse_domains(report, v),
        'backups': lambda v: _parse_backups(report, v),
    }
    changes = {key: parse(data[key]) for key, parse in parsers.items() if key in data}
    if any(change is None for change in changes.values()):
        return None, frozenset()
    return replace(PROFILES[env_type], **changes), frozenset(changes)


def parse_environment(data: object, source: str) -> Environment:
    """Turn one file's data into an ``Environment``; type and key errors raise, rules not checked."""
    report = _Report(source)
    if not isinstance(data, dict):
        what = 'is empty' if data is None else f'holds {_kind(data)}'
        report.add('', f'{what}; an environment file holds one mapping (project, environment, …)')
        report.raise_if_any()
    project = _name(report, data['project'], 'project') if 'project' in data else None
    name = _name(report, data['environment'], 'environment') if 'environment' in data else None
    if project and name:
        report.env = f'{project}/{name}'
    _mapping(report, data, '', _TOP_KEYS, required=sorted(_TOP_REQUIRED))
    env_type = _choice(report, data['type'], 'type', EnvType) if 'type' in data else None
    deployment = _choice(report, data['deployment'], 'deployment', Deployment) \
        if 'deployment' in data else None

    version = None
    if 'application' in data:
        app = _mapping(report, data['application'], 'application', _APPLICATION_KEYS,
                       required=('version',))
        if app is not None and 'version' in app:
            version = _string(report, app['version'], 'application.version')
            if version is not None and not VERSION_PATTERN.fullmatch(version):
                report.add('application.version', f'{version!r} is not MAJOR.MINOR.PATCH')
                version = None

    network = _parse_network(report, data['network']) if 'network' in data else None
    profile, overrides = _parse_profile(report, data.get('profile'), env_type)

    nodes: list[Node] = []
    node_map = data.get('nodes', {})
    if not isinstance(node_map, dict):
        report.add('nodes', f'must be a mapping of node name to node, not {_kind(node_map)}')
    elif 'nodes' in data and not node_map:
        report.add('nodes', 'must describe at least one node')
    else:
        for node_name, node_data in node_map.items():
            node = _parse_node(report, node_name, node_data)
            if node is not None:
                nodes.append(node)

    report.raise_if_any()
    # Every field was checked above; a None here would have produced a problem.
    return Environment(
        project=project, name=name, type=env_type, deployment=deployment,  # type: ignore[arg-type]
        application_version=version, network=network, nodes=tuple(nodes),  # type: ignore[arg-type]
        profile=profile, profile_overrides=overrides, source=source)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Rules


def _subnet_problems(net: Network, env_type: EnvType) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if env_type.multi_host and net.dmz is None:
        problems.append(('network.dmz', f'a {env_type} environment needs a DMZ subnet '
                                        '(VPN gateway and bridge)'))
    if not env_type.multi_host and net.dmz is not None:
        problems.append(('network.dmz', f'a {env_type} environment is single-host and has no DMZ'))
    if net.dmz is not None and net.application.overlaps(net.dmz):
        problems.append(('network.dmz', f'{net.dmz} overlaps network.application {net.application}'))
    for index, edge in enumerate(net.edge_sources):
        for name, subnet in _private_subnets(net):
            if edge.overlaps(subnet):
                problems.append((f'network.edge_sources[{index}]',
                                 f'{edge} overlaps network.{name} {subnet}'))
    return problems


def _private_subnets(net: Network) -> list[tuple[Subnet, IPNetwork]]:
    pairs = [(Subnet.APPLICATION, net.application), (Subnet.DMZ, net.dmz)]
    return [(name, subnet) for name, subnet in pairs if subnet is not None]


def _address_problem(net: Network, node: Node, key: str, address: IPAddress) -> str | None:
    """Why an address does not belong where it is (``None`` when it does)."""
    home = _home_subnet(node, key)
    if home is None:  # a public address lies outside the private subnets
        inside = [(name, subnet) for name, subnet in _private_subnets(net) if address in subnet]
        return next((f'{address} is inside network.{name} {subnet}; a public address lies '
                     'outside the private subnets' for name, subnet in inside), None)
    subnet = net.application if home is Subnet.APPLICATION else net.dmz
    if subnet is None:  # multi-host without DMZ, or DMZ roles in single-host: reported elsewhere
        return None
    if address not in subnet:
        return f'{address} is outside network.{home} {subnet}'
    if subnet.version == 4 and subnet.prefixlen < 31 and address in (
            subnet.network_address, subnet.broadcast_address):
        return f'{address} is not a host address of network.{home} {subnet}'
    return None


def network_problems(env: Environment) -> list[tuple[str, str]]:
    """Subnets, and every address in its subnet, each address once."""
    problems = _subnet_problems(env.network, env.type)
    claimed: dict[IPAddress, str] = {}
    for node, key, address in _addresses(env):
        path = f'nodes.{node.name}.{key}'
        if address in claimed:
            problems.append((path, f'{address} is already used by {claimed[address]}'))
        else:
            claimed[address] = path
        problem = _address_problem(env.network, node, key, address)
        if problem:
            problems.append((path, problem))
    return problems


def _addresses(env: Environment) -> Iterable[tuple[Node, str, IPAddress]]:
    for node in env.nodes:
        yield node, 'address', node.address
        if node.dmz_address is not None:
            yield node, 'dmz_address', node.dmz_address
        if node.public_address is not None:
            yield node, 'public_address', node.public_address


def _home_subnet(node: Node, key: str) -> Subnet | None:
    if key == 'address':
        return node.subnet
    if key == 'dmz_address':
        return Subnet.DMZ
    return None


def topology_problems(env: Environment) -> list[tuple[str, str]]:
    """The node layout the environment type requires."""
    problems: list[tuple[str, str]] = []
    kind = env.type
    if not kind.multi_host:
        if len(env.nodes) != 1:
            problems.append(('nodes', f'a {kind} environment is single-host: describe exactly one '
                                      f'node, not {len(env.nodes)}'))
            return problems
        node = env.nodes[0]
        missing = [role for role in APPLICATION_ROLES if role not in node.roles]
        if missing:
            problems.append((f'nodes.{node.name}.roles', f"the single host of a {kind} environment "
                             f"carries every application role; missing: {', '.join(missing)}"))
        extra = [str(role) for role in NETWORK_ROLES if role in node.roles]
        if extra:
            what = 'is a multi-host role' if len(extra) == 1 else 'are multi-host roles'
            problems.append((f'nodes.{node.name}.roles',
                             f"{' and '.join(extra)} {what}; a {kind} environment has none"))
        return problems

    for role in DEDICATED_ROLES:
        for node in env.nodes_with(role):
            if len(node.roles) > 1:
                others = ', '.join(r for r in node.roles if r is not role)
                problems.append((f'nodes.{node.name}.roles', f'a {role} node carries no other role '
                                 f'in a {kind} environment (remove {others})'))
    for role, (least, most) in MULTI_HOST_NODES.items():
        count = len(env.nodes_with(role))
        if count < least or (most is not None and count > most):
            wanted = f'exactly {least}' if least == most else f'at least {least}'
            reason = ' (oro:cron must run on one node only)' if role is Role.CRON else ''
            problems.append(('nodes', f'a {kind} environment needs {wanted} {role} node'
                             f"{'s' if least > 1 else ''}{reason}, found {count}"))
    for node in env.nodes_with(Role.BRIDGE):
        if node.dmz_address is None:
            problems.append((f'nodes.{node.name}.dmz_address',
                             'the bridge needs its second address, in network.dmz'))
    return problems


def environment_problems(env: Environment) -> list[tuple[str, str]]:
    """Everything wrong with a well-typed environment, as (key path, message)."""
    problems = topology_problems(env) + network_problems(env)
    for key, message in profile_problems(env.type, env.profile):
        default = '' if key in env.profile_overrides else f' (the {env.type} default)'
        problems.append((f'profile.{key}', message + default))
    return problems


def load_environment(path: str, source: str | None = None) -> Environment:
    """Read, parse and check one environment file; ``source`` is how messages name it."""
    label = source or path
    try:
        with open(path, 'rb') as stream:
            raw = stream.read()
    except OSError as exc:
        raise EnvironmentFileError([f'{label}: cannot read: {exc.strerror or exc}']) from exc
    env = parse_environment(read_yaml(raw, label), label)
    report = _Report(label, env.ident)
    for key, message in environment_problems(env):
        report.add(key, message)
    report.raise_if_any()
    return env


def fleet_problems(envs: Sequence[Environment]) -> list[str]:
    """Problems between environments: one environment described twice, one address claimed twice."""
    problems: list[str] = []
    idents: dict[str, Environment] = {}
    claimed: dict[IPAddress, tuple[Environment, str]] = {}
    for env in envs:
        report = _Report(env.source, env.ident)
        if env.ident in idents:
            report.add('', f'is also described in {idents[env.ident].source}')
            problems.extend(report.problems)
            continue
        idents[env.ident] = env
        for node, key, address in _addresses(env):
            path = f'nodes.{node.name}.{key}'
            if address in claimed:
                other, other_path = claimed[address]
                if other is not env:
                    report.add(path, f'{address} is already claimed by environment {other.ident} '
                                     f'({other.source}, {other_path})')
            else:
                claimed[address] = (env, path)
        problems.extend(report.problems)
    return problems


def load_fleet(files: Sequence[tuple[str, str]]) -> list[Environment]:
    """Load every (path, label) and check the fleet; any problem anywhere raises, listing all."""
    envs: list[Environment] = []
    problems: list[str] = []
    for path, label in files:
        try:
            envs.append(load_environment(path, label))
        except EnvironmentFileError as exc:
            problems.extend(exc.problems)
    problems.extend(fleet_problems(envs))
    if problems:
        raise EnvironmentFileError(problems)
    return envs


# --------------------------------------------------------------------------------------------------
# Finding the files


ENV_FILE_SUFFIXES: Final = ('.yml', '.yaml')
_SKIPPED_NAMES: Final = frozenset({'group_vars', 'host_vars'})
_CONFIG_SUFFIXES: Final = ('.orocloud.yml', '.orocloud.yaml')


def discover(sources: Sequence[str], base_dir: str) -> list[tuple[str, str]]:
    """Environment files named by ``sources`` (files or directories, relative to ``base_dir``).

    Directories are searched recursively for ``*.yml``/``*.yaml``, skipping hidden entries,
    ``group_vars``/``host_vars`` and plugin configuration files (``*.orocloud.yml``).
    Returns sorted (path, label) pairs; the label is the path relative to ``base_dir``.
    """
    found: dict[str, str] = {}
    for source in sources:
        path = os.path.normpath(os.path.join(base_dir, os.path.expanduser(source)))
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith('.') and d not in _SKIPPED_NAMES)
                for name in sorted(files):
                    if (name.endswith(ENV_FILE_SUFFIXES) and not name.startswith('.')
                            and not name.endswith(_CONFIG_SUFFIXES)):
                        found.setdefault(os.path.join(root, name), '')
        elif os.path.isfile(path):
            found.setdefault(path, '')
        else:
            raise EnvironmentFileError([f'{source}: no such file or directory (looked for {path})'])
    return [(path, _label(path, base_dir)) for path in sorted(found)]


def _label(path: str, base_dir: str) -> str:
    relative = os.path.relpath(path, base_dir)
    return path if relative.startswith(os.pardir) else relative


def fingerprint(paths: Iterable[str], settings: Mapping[str, Any]) -> str:
    """A digest that changes when any file (path, mtime_ns, size, inode), the settings, the
    inventory format or this model's code changes: the inventory cache key's suffix."""
    digest = hashlib.sha256()
    digest.update(json.dumps([INVENTORY_FORMAT, dict(settings)], sort_keys=True).encode())
    for path in (__file__, *paths):
        stat = os.stat(path)
        digest.update(f'{path}\0{stat.st_mtime_ns}\0{stat.st_size}\0{stat.st_ino}\n'.encode())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------------------------------
# The inventory


#: Bump when the shape of ``build_inventory``'s result changes (invalidates inventory caches).
INVENTORY_FORMAT: Final = 1
ROOT_GROUP: Final = 'orocloud'
VAR_PREFIX: Final = 'orocloud_'
DEFAULT_HOST_NAME_FORMAT: Final = '{project}-{environment}-{node}'
HOST_NAME_FIELDS: Final = ('project', 'environment', 'node', 'type', 'deployment')
_HOST_NAME_LITERAL: Final = re.compile(r'[A-Za-z0-9._-]*')
USER_PATTERN: Final = re.compile(r'[A-Za-z0-9_][A-Za-z0-9._-]*')
_UNSAFE_GROUP_CHARS: Final = re.compile(r'[^A-Za-z0-9_]')


def group_name(prefix: str, *parts: str) -> str:
    """``prefix_part1_part2`` with every character Ansible refuses in group names made ``_``."""
    return _UNSAFE_GROUP_CHARS.sub('_', '_'.join((prefix, *parts)))


def check_host_name_format(host_name_format: str) -> None:
    """Refuse formats that could yield invalid or ambiguous host names (``ValueError``)."""
    try:
        parsed = list(string.Formatter().parse(host_name_format))
    except ValueError as exc:
        raise ValueError(f'host_name_format {host_name_format!r}: {exc}') from exc
    fields = []
    for literal, name, spec, conversion in parsed:
        if not _HOST_NAME_LITERAL.fullmatch(literal):
            raise ValueError(f'host_name_format {host_name_format!r}: {literal!r} has characters '
                             'other than letters, digits, ".", "_" and "-"')
        if name is None:
            continue
        if name not in HOST_NAME_FIELDS or spec or conversion:
            raise ValueError(f'host_name_format {host_name_format!r}: {{{name}}} is not one of '
                             + ', '.join(f'{{{f}}}' for f in HOST_NAME_FIELDS))
        fields.append(name)
    if 'node' not in fields:
        raise ValueError(f'host_name_format {host_name_format!r} must contain {{node}}')


def check_jump_user(jump_user: str | None) -> None:
    """Refuse a jump user that SSH would read as something else (``ValueError``)."""
    if jump_user is not None and not USER_PATTERN.fullmatch(jump_user):
        raise ValueError(f'jump_user {jump_user!r} is not a user name')


def _ssh_host(address: IPAddress) -> str:
    return f'[{address}]' if address.version == 6 else str(address)


def build_inventory(envs: Sequence[Environment], *,
                    host_name_format: str = DEFAULT_HOST_NAME_FORMAT,
                    proxy_jump: bool = True, jump_user: str | None = None) -> dict[str, Any]:
    """The inventory as JSON data (what the plugin populates and what its cache stores).

    ``{"format": 1, "environments": [{"environment": "project/name", "groups": [the groups of
    every host of the environment], "vars": {environment-wide hostvars}, "hosts": [{"name",
    "groups": [role groups], "vars": {node hostvars}}]}]}``. Every group holds hosts directly
    (no parent/child groups). Host names or environment groups claimed twice raise.
    """
    check_host_name_format(host_name_format)
    check_jump_user(jump_user)
    problems: list[str] = []
    hosts_seen: dict[str, str] = {}
    groups_seen: dict[str, str] = {}
    result = []
    for env in envs:
        report = _Report(env.source, env.ident)
        env_group = group_name('env', env.project, env.name)
        if groups_seen.setdefault(env_group, env.ident) != env.ident:
            report.add('', f'its group {env_group} is also the group of environment '
                           f'{groups_seen[env_group]}; rename the project or environment')
        fields = {'project': env.project, 'environment': env.name, 'type': str(env.type),
                  'deployment': str(env.deployment)}
        names = {node.name: host_name_format.format_map({**fields, 'node': node.name})
                 for node in env.nodes}
        for node in env.nodes:
            owner = f'{env.ident} node {node.name}'
            if hosts_seen.setdefault(names[node.name], owner) != owner:
                report.add(f'nodes.{node.name}', f'host name {names[node.name]} is also the host '
                                                 f'name of {hosts_seen[names[node.name]]}')
        problems.extend(report.problems)

        bridge = env.bridge
        jump_args = None
        if proxy_jump and bridge is not None and bridge.dmz_address is not None:
            user = f'{jump_user}@' if jump_user else ''
            jump_args = f'-o ProxyJump={user}{_ssh_host(bridge.dmz_address)}'
        env_vars = {
            'orocloud_project': env.project,
            'orocloud_environment': env.name,
            'orocloud_environment_type': str(env.type),
            'orocloud_deployment': str(env.deployment),
            'orocloud_environment_group': env_group,
            'orocloud_application_version': env.application_version,
            'orocloud_network': env.network.as_dict(),
            'orocloud_profile': env.profile.as_dict(),
            'orocloud_services': {str(s): str(level)
                                  for s, level in SERVICE_SUPPORT[env.deployment].items()},
            'orocloud_bridge': names[bridge.name] if bridge is not None else None,
        }
        hosts = []
        for node in env.nodes:
            node_vars: dict[str, Any] = {
                'orocloud_node': node.name,
                'orocloud_roles': [str(role) for role in node.roles],
                'orocloud_address': str(node.address),
                'orocloud_subnet': str(node.subnet),
                'orocloud_dmz_address': _text(node.dmz_address),
                'orocloud_public_address': _text(node.public_address),
                'ansible_host': str(node.dmz_address if node is bridge else node.address),
            }
            if jump_args and node is not bridge and node.subnet is Subnet.APPLICATION:
                node_vars['ansible_ssh_common_args'] = jump_args
            hosts.append({'name': names[node.name],
                          'groups': [group_name('role', role) for role in node.roles],
                          'vars': node_vars})
        result.append({
            'environment': env.ident,
            'groups': [ROOT_GROUP, group_name('project', env.project), env_group,
                       group_name('type', env.type), group_name('deployment', env.deployment)],
            'vars': env_vars,
            'hosts': hosts,
        })
    if problems:
        raise EnvironmentFileError(problems)
    return {'format': INVENTORY_FORMAT, 'environments': result}


def _text(address: IPAddress | None) -> str | None:
    return None if address is None else str(address)


def hostvars(inventory: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every host's variables, merged (env-wide then node), from ``build_inventory``'s result."""
    return {host['name']: {**env['vars'], **host['vars']}
            for env in inventory['environments'] for host in env['hosts']}


def groups(inventory: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every group's hosts, from ``build_inventory``'s result."""
    members: dict[str, list[str]] = {ROOT_GROUP: []}
    for env in inventory['environments']:
        for host in env['hosts']:
            for group in (*env['groups'], *host['groups']):
                members.setdefault(group, []).append(host['name'])
    return members
