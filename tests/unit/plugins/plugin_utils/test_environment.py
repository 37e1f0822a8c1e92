# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment model: file format, rules, tables, fleet checks and the inventory it computes."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml

from ansible_collections.orocloud.ops.plugins.plugin_utils import _environment as model

ROOT = Path(__file__).resolve().parents[4]
LAB_ENV = ROOT / 'inventories' / 'lab' / 'environments' / 'prod.yml'

PRODUCTION = {
    'project': 'orolab',
    'environment': 'prod',
    'type': 'production',
    'deployment': 'orocloud',
    'application': {'version': '6.1.0'},
    'network': {'application': '10.231.1.0/24', 'dmz': '10.231.2.0/24',
                'edge_sources': ['10.231.0.0/24']},
    'nodes': {
        'lb1': {'roles': ['load_balancer'], 'address': '10.231.1.10', 'public_address': '10.231.0.10'},
        'web1': {'roles': ['web', 'consumer', 'cron'], 'address': '10.231.1.11'},
        'web2': {'roles': ['web', 'consumer'], 'address': '10.231.1.12'},
        'web3': {'roles': ['web', 'consumer'], 'address': '10.231.1.13'},
        'db1': {'roles': ['database', 'cache', 'message_queue'], 'address': '10.231.1.21'},
        'bridge1': {'roles': ['bridge'], 'address': '10.231.1.30', 'dmz_address': '10.231.2.30'},
        'vpn1': {'roles': ['vpn_gateway'], 'address': '10.231.2.20', 'public_address': '10.231.0.20'},
        'nat1': {'roles': ['nat'], 'address': '10.231.1.40', 'public_address': '10.231.0.40'},
    },
}

DEVELOPMENT = {
    'project': 'acme',
    'environment': 'dev',
    'type': 'development',
    'deployment': 'orocloud',
    'application': {'version': '6.1.4'},
    'network': {'application': '10.20.1.0/24'},
    'nodes': {'app1': {'roles': ['web', 'consumer', 'cron', 'database', 'cache', 'message_queue'],
                       'address': '10.20.1.10'}},
}

DELETE = object()


def changed(base: dict, **changes: object) -> dict:
    """A deep copy of ``base`` with ``a__b__c=value`` changes (``DELETE`` removes the key)."""
    data = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split('__')
        target = data
        for key in parents:
            target = target.setdefault(key, {})
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def load(tmp_path: Path, data: object, name: str = 'env.yml') -> model.Environment:
    return model.load_environment(str(write(tmp_path, name, data)), name)


def problems_of(tmp_path: Path, data: object) -> list[str]:
    with pytest.raises(model.EnvironmentFileError) as caught:
        load(tmp_path, data)
    return list(caught.value.problems)


# --------------------------------------------------------------------------------------------------
# Good files


def test_the_lab_file_is_the_lab_topology():
    env = model.load_environment(str(LAB_ENV), 'prod.yml')
    assert (env.project, env.name, env.type, env.deployment, env.application_version) == (
        'orolab', 'prod', model.EnvType.PRODUCTION, model.Deployment.OROCLOUD, '6.1.0')
    assert env.network.as_dict() == {'application': '10.231.1.0/24', 'dmz': '10.231.2.0/24',
                                     'edge_sources': ['10.231.0.0/24']}
    layout = {node.name: ([str(r) for r in node.roles], str(node.address),
                          node.dmz_address and str(node.dmz_address),
                          node.public_address and str(node.public_address)) for node in env.nodes}
    assert layout == {
        'lb1': (['load_balancer'], '10.231.1.10', None, '10.231.0.10'),
        'web1': (['web', 'consumer', 'cron'], '10.231.1.11', None, None),
        'web2': (['web', 'consumer'], '10.231.1.12', None, None),
        'web3': (['web', 'consumer'], '10.231.1.13', None, None),
        'db1': (['database', 'cache', 'message_queue'], '10.231.1.21', None, None),
        'bridge1': (['bridge'], '10.231.1.30', '10.231.2.30', None),
        'vpn1': (['vpn_gateway'], '10.231.2.20', None, '10.231.0.20'),
        'nat1': (['nat'], '10.231.1.40', None, '10.231.0.40'),
    }
    assert env.profile == model.PROFILES[model.EnvType.PRODUCTION]
    assert env.bridge.name == 'bridge1'


@pytest.mark.parametrize('data', [
    pytest.param(PRODUCTION, id='production'),
    pytest.param(changed(PRODUCTION, type='staging', environment='stage'), id='staging'),
    pytest.param(DEVELOPMENT, id='development'),
    pytest.param(changed(DEVELOPMENT, type='testing'), id='testing'),
    pytest.param(changed(DEVELOPMENT, nodes__app1__roles=[
        'load_balancer', 'web', 'consumer', 'cron', 'database', 'cache', 'message_queue', 'search',
        'maintenance'], nodes__app1__public_address='203.0.113.9'), id='single-host-with-everything'),
    pytest.param(changed(PRODUCTION, profile=None), id='empty-profile'),
    pytest.param(changed(PRODUCTION, network__edge_sources=DELETE), id='no-edge-sources'),
    pytest.param(changed(PRODUCTION, nodes__search1={'roles': ['search'], 'address': '10.231.1.25'},
                         nodes__db2={'roles': ['database'], 'address': '10.231.1.22'},
                         nodes__lb2={'roles': ['load_balancer'], 'address': '10.231.1.9'}),
                 id='more-nodes'),
    pytest.param(changed(PRODUCTION, network={'application': 'fd00:1::/64', 'dmz': 'fd00:2::/64'},
                         nodes={name: {**node, 'address': node['address'].replace('10.231.1.', 'fd00:1::')
                                       .replace('10.231.2.', 'fd00:2::'),
                                       **({'dmz_address': 'fd00:2::30'} if 'dmz_address' in node else {}),
                                       **({'public_address': f'2001:db8::{i}'}
                                          if 'public_address' in node else {})}
                                for i, (name, node) in enumerate(PRODUCTION['nodes'].items())}),
                 id='ipv6'),
])
def test_good_files_load(tmp_path, data):
    env = load(tmp_path, data)
    assert env.ident == f"{data['project']}/{data['environment']}"
    assert len(env.nodes) == len(data['nodes'])


def test_yaml_merge_keys_work_and_stray_keys_do_not(tmp_path):
    text = LAB_ENV.read_text().replace('  web2: {roles: [web, consumer], address: 10.231.1.12}',
                                       '  web2: &web {roles: [web, consumer], address: 10.231.1.12}').replace(
        '  web3: {roles: [web, consumer], address: 10.231.1.13}', '  web3: {<<: *web, address: 10.231.1.13}')
    env = load(tmp_path, text)
    assert [str(r) for r in env.nodes[3].roles] == ['web', 'consumer']
    assert str(env.nodes[3].address) == '10.231.1.13'
    with pytest.raises(model.EnvironmentFileError, match='x_defaults: unknown key'):
        load(tmp_path, text.replace('nodes:', 'x_defaults: {roles: [web]}\nnodes:'))


# --------------------------------------------------------------------------------------------------
# Every rule, violated


def _line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


BAD_FILES = [
    # the file itself
    ('empty-file', '', 'env.yml: is empty; an environment file holds one mapping'),
    ('list-at-top', '- project: acme\n', 'env.yml: holds a list'),
    ('malformed-yaml', 'project: acme\nnodes: [\n', 'env.yml: malformed YAML: line 3, column 1'),
    ('tab-indent', 'project: acme\nnodes:\n\tweb1: {}\n', 'env.yml: malformed YAML: line 3'),
    ('duplicate-host', LAB_ENV.read_text().replace('web3:', 'web2:'),
     f"env.yml: malformed YAML: line {_line_of(LAB_ENV, 'web3:')}, column 3: found duplicate key 'web2'"),
    ('duplicate-top-key', 'project: a\nproject: b\n', "found duplicate key 'project'"),
    # keys and types
    ('unknown-top-key', changed(PRODUCTION, projekt='x'),
     'env.yml: environment orolab/prod: projekt: unknown key (expected one of: project, environment'),
    ('missing-nodes', changed(PRODUCTION, nodes=DELETE), 'nodes: required key is missing'),
    ('missing-project', changed(PRODUCTION, project=DELETE), 'env.yml: project: required key is missing'),
    ('bad-project-name', changed(PRODUCTION, project='Acme Shop'), "project: 'Acme Shop' is not a valid name"),
    ('project-not-string', changed(PRODUCTION, project=['a']), 'project: must be a string, not a list'),
    ('environment-number', changed(PRODUCTION, environment=2024),
     'environment: must be a string, not an integer (quote it)'),
    ('bad-type', changed(PRODUCTION, type='prod'),
     "type: 'prod' is not one of: development, testing, staging, production"),
    ('bad-deployment', changed(PRODUCTION, deployment='aws'),
     "deployment: 'aws' is not one of: orocloud, public_cloud, private_cloud, on_premise"),
    ('application-not-mapping', changed(PRODUCTION, application='6.1.0'),
     'application: must be a mapping, not a string'),
    ('version-float', changed(PRODUCTION, application__version=6.1),
     'application.version: must be a string, not a number (quote it)'),
    ('version-short', changed(PRODUCTION, application__version='6.1'),
     "application.version: '6.1' is not MAJOR.MINOR.PATCH"),
    ('unknown-application-key', changed(PRODUCTION, application__url='https://x'),
     'application.url: unknown key (expected one of: version)'),
    ('network-host-bits', changed(PRODUCTION, network__application='10.231.1.1/24'),
     "network.application: '10.231.1.1/24' is not a network in CIDR notation"),
    ('network-missing-application', changed(PRODUCTION, network__application=DELETE),
     'network.application: required key is missing'),
    ('edge-not-list', changed(PRODUCTION, network__edge_sources='10.231.0.0/24'),
     'network.edge_sources: must be a list, not a string'),
    ('edge-item-bad', changed(PRODUCTION, network__edge_sources=['cdn']),
     "network.edge_sources[0]: 'cdn' is not a network"),
    ('unknown-network-key', changed(PRODUCTION, network__maintenance='10.0.0.0/24'),
     'network.maintenance: unknown key'),
    ('nodes-list', changed(PRODUCTION, nodes=[{'name': 'web1'}]),
     'nodes: must be a mapping of node name to node, not a list'),
    ('nodes-empty', changed(PRODUCTION, nodes={}), 'nodes: must describe at least one node'),
    ('node-null', changed(PRODUCTION, nodes__web3=None), 'nodes.web3: must be a mapping, not null'),
    ('node-bad-name', changed(PRODUCTION, nodes__Web_4={'roles': ['web'], 'address': '10.231.1.14'}),
     "nodes.Web_4: 'Web_4' is not a valid name"),
    ('node-unknown-key', changed(PRODUCTION, nodes__web1__adress='10.231.1.11'),
     'nodes.web1.adress: unknown key (expected one of: roles, address, dmz_address, public_address)'),
    ('node-missing-address', changed(PRODUCTION, nodes__web1__address=DELETE),
     'nodes.web1.address: required key is missing'),
    ('node-bad-address', changed(PRODUCTION, nodes__web1__address='web1.local'),
     "nodes.web1.address: 'web1.local' is not an IP address"),
    ('unknown-role', changed(PRODUCTION, nodes__web1__roles=['web', 'php']),
     "nodes.web1.roles[1]: 'php' is not one of: load_balancer, web, consumer"),
    ('role-twice', changed(PRODUCTION, nodes__web2__roles=['web', 'web']),
     'nodes.web2.roles[1]: web is listed twice'),
    ('no-roles', changed(PRODUCTION, nodes__web2__roles=[]), 'nodes.web2.roles: must name at least one role'),
    ('roles-string', changed(PRODUCTION, nodes__web2__roles='web'), 'nodes.web2.roles: must be a list'),
    ('dmz-address-on-web', changed(PRODUCTION, nodes__web1__dmz_address='10.231.2.31'),
     'nodes.web1.dmz_address: only a node with role bridge has a dmz_address'),
    ('public-address-on-db', changed(PRODUCTION, nodes__db1__public_address='10.231.0.21'),
     'nodes.db1.public_address: only a node with role load_balancer or nat or vpn_gateway has a public_address'),
    ('profile-unknown-key', changed(PRODUCTION, profile={'retention': 3}),
     'profile.retention: unknown key (expected one of: dev_mode_allowed, mail'),
    ('profile-not-mapping', changed(PRODUCTION, profile=['mail']), 'profile: must be a mapping, not a list'),
    ('profile-bool-string', changed(PRODUCTION, profile={'disaster_recovery': 'yes'}),
     'profile.disaster_recovery: must be a boolean, not a string'),
    ('profile-bad-mail', changed(PRODUCTION, profile={'mail': 'sometimes'}),
     "profile.mail: 'sometimes' is not one of: none, allow_list, unrestricted"),
    ('profile-bad-data', changed(PRODUCTION, profile={'data': 'anonymous'}),
     "profile.data: 'anonymous' is not one of: minimal, sanitized, live"),
    ('profile-bad-domain', changed(DEVELOPMENT, profile={'mail': 'allow_list', 'mail_allow_list': ['@acme']}),
     "profile.mail_allow_list[0]: '@acme' is not a domain name"),
    ('profile-backup-zero', changed(PRODUCTION, profile={'backups': {'daily': 0}}),
     'profile.backups.daily: must be a positive integer (backups kept), not 0'),
    ('profile-backup-bool', changed(PRODUCTION, profile={'backups': {'daily': True}}),
     'profile.backups.daily: must be a positive integer (backups kept), not True'),
    ('profile-backup-yearly', changed(PRODUCTION, profile={'backups': {'yearly': 5}}),
     'profile.backups.yearly: unknown key (expected one of: hourly, daily, weekly, monthly)'),
    # multi-host topology
    ('one-web', changed(PRODUCTION, nodes__web2=DELETE, nodes__web3=DELETE),
     'nodes: a production environment needs at least 2 web nodes, found 1'),
    ('no-load-balancer', changed(PRODUCTION, nodes__lb1=DELETE),
     'nodes: a production environment needs at least 1 load_balancer node, found 0'),
    ('no-database', changed(PRODUCTION, nodes__db1__roles=['cache', 'message_queue']),
     'nodes: a production environment needs at least 1 database node, found 0'),
    ('two-cron', changed(PRODUCTION, nodes__web2__roles=['web', 'cron']),
     'nodes: a production environment needs exactly 1 cron node (oro:cron must run on one node only), found 2'),
    ('no-bridge', changed(PRODUCTION, nodes__bridge1=DELETE),
     'nodes: a production environment needs exactly 1 bridge node, found 0'),
    ('two-vpn', changed(PRODUCTION, nodes__vpn2={'roles': ['vpn_gateway'], 'address': '10.231.2.21'}),
     'nodes: a production environment needs exactly 1 vpn_gateway node, found 2'),
    ('no-nat', changed(PRODUCTION, nodes__nat1=DELETE),
     'nodes: a production environment needs exactly 1 nat node, found 0'),
    ('bridge-one-nic', changed(PRODUCTION, nodes__bridge1__dmz_address=DELETE),
     'nodes.bridge1.dmz_address: the bridge needs its second address, in network.dmz'),
    ('vpn-shares-node', changed(PRODUCTION, nodes__vpn1__roles=['vpn_gateway', 'web']),
     'nodes.vpn1.roles: a vpn_gateway node carries no other role in a production environment (remove web)'),
    ('bridge-runs-app', changed(PRODUCTION, nodes__bridge1__roles=['bridge', 'consumer']),
     'nodes.bridge1.roles: a bridge node carries no other role'),
    ('no-dmz', changed(PRODUCTION, network__dmz=DELETE),
     'network.dmz: a production environment needs a DMZ subnet'),
    ('staging-one-web', changed(PRODUCTION, type='staging', nodes__web2=DELETE, nodes__web3=DELETE),
     'nodes: a staging environment needs at least 2 web nodes, found 1'),
    # network
    ('address-outside', changed(PRODUCTION, nodes__web2__address='10.9.9.9'),
     'env.yml: environment orolab/prod: nodes.web2.address: 10.9.9.9 is outside network.application 10.231.1.0/24'),
    ('web-in-dmz', changed(PRODUCTION, nodes__web3__address='10.231.2.13'),
     'nodes.web3.address: 10.231.2.13 is outside network.application 10.231.1.0/24'),
    ('vpn-in-application', changed(PRODUCTION, nodes__vpn1__address='10.231.1.20'),
     'nodes.vpn1.address: 10.231.1.20 is outside network.dmz 10.231.2.0/24'),
    ('bridge-dmz-outside', changed(PRODUCTION, nodes__bridge1__dmz_address='10.231.1.31'),
     'nodes.bridge1.dmz_address: 10.231.1.31 is outside network.dmz 10.231.2.0/24'),
    ('public-inside-private', changed(PRODUCTION, nodes__nat1__public_address='10.231.1.41'),
     'nodes.nat1.public_address: 10.231.1.41 is inside network.application 10.231.1.0/24'),
    ('network-address', changed(PRODUCTION, nodes__web3__address='10.231.1.0'),
     'nodes.web3.address: 10.231.1.0 is not a host address of network.application 10.231.1.0/24'),
    ('broadcast-address', changed(PRODUCTION, nodes__web3__address='10.231.1.255'),
     'nodes.web3.address: 10.231.1.255 is not a host address'),
    ('duplicate-address', changed(PRODUCTION, nodes__web2__address='10.231.1.11'),
     'nodes.web2.address: 10.231.1.11 is already used by nodes.web1.address'),
    ('duplicate-public-address', changed(PRODUCTION, nodes__nat1__public_address='10.231.0.20'),
     'nodes.nat1.public_address: 10.231.0.20 is already used by nodes.vpn1.public_address'),
    ('subnets-overlap', changed(PRODUCTION, network__dmz='10.231.0.0/16'),
     'network.dmz: 10.231.0.0/16 overlaps network.application 10.231.1.0/24'),
    ('edge-overlaps', changed(PRODUCTION, network__edge_sources=['10.231.1.128/25']),
     'network.edge_sources[0]: 10.231.1.128/25 overlaps network.application 10.231.1.0/24'),
    # single-host topology
    ('dev-two-nodes', changed(DEVELOPMENT, nodes__db1={'roles': ['database'], 'address': '10.20.1.11'}),
     'env.yml: environment acme/dev: nodes: a development environment is single-host: '
     'describe exactly one node, not 2'),
    ('dev-missing-role', changed(DEVELOPMENT, nodes__app1__roles=['web', 'consumer', 'database', 'cache',
                                                                  'message_queue']),
     'nodes.app1.roles: the single host of a development environment carries every application role; missing: cron'),
    ('testing-with-bridge', changed(DEVELOPMENT, type='testing', nodes__app1__roles=[
        'web', 'consumer', 'cron', 'database', 'cache', 'message_queue', 'bridge']),
     'nodes.app1.roles: bridge is a multi-host role; a testing environment has none'),
    ('dev-with-vpn-and-nat', changed(DEVELOPMENT, nodes__app1__roles=[
        'web', 'consumer', 'cron', 'database', 'cache', 'message_queue', 'vpn_gateway', 'nat']),
     'nodes.app1.roles: vpn_gateway and nat are multi-host roles; a development environment has none'),
    ('dev-with-dmz', changed(DEVELOPMENT, network__dmz='10.20.2.0/24'),
     'network.dmz: a development environment is single-host and has no DMZ'),
    # profiles that contradict the type
    ('prod-dev-mode', changed(PRODUCTION, profile={'dev_mode_allowed': True}),
     'profile.dev_mode_allowed: application dev mode is not allowed in a production environment'),
    ('staging-dev-mode', changed(PRODUCTION, type='staging', profile={'dev_mode_allowed': True}),
     'profile.dev_mode_allowed: application dev mode is not allowed in a staging environment'),
    ('staging-live-data', changed(PRODUCTION, type='staging', profile={'data': 'live'}),
     'profile.data: live data is for production only, not a staging environment'),
    ('dev-live-data', changed(DEVELOPMENT, profile={'data': 'live'}),
     'profile.data: live data is for production only, not a development environment'),
    ('prod-sanitized-data', changed(PRODUCTION, profile={'data': 'sanitized'}),
     'profile.data: a production environment holds live data'),
    ('testing-unrestricted-mail', changed(DEVELOPMENT, type='testing', profile={'mail': 'unrestricted'}),
     'profile.mail: unrestricted outgoing mail is for production only'),
    ('prod-no-backups', changed(PRODUCTION, profile={'backups': {}}),
     'profile.backups: a production environment must keep backups'),
    ('prod-null-backups', changed(PRODUCTION, profile={'backups': None}),
     'profile.backups: a production environment must keep backups'),
    ('dr-without-backups', changed(DEVELOPMENT, profile={'disaster_recovery': True}),
     'profile.disaster_recovery: disaster recovery restores the latest backup: profile.backups is empty'),
    ('allow-list-without-allow-list-mail', changed(DEVELOPMENT, profile={'mail_allow_list': ['acme.example']}),
     'profile.mail_allow_list: is only used with mail: allow_list (mail is none)'),
    ('prod-no-backups-keeps-dr', changed(PRODUCTION, profile={'backups': {}}),
     'profile.disaster_recovery: disaster recovery restores the latest backup: profile.backups is empty '
     '(the production default)'),
]


@pytest.mark.parametrize(('data', 'expected'), [pytest.param(d, e, id=i) for i, d, e in BAD_FILES])
def test_each_violation_is_named(tmp_path, data, expected):
    problems = problems_of(tmp_path, data)
    assert any(expected in problem for problem in problems), problems
    assert all(problem.startswith('env.yml: ') for problem in problems)


def test_violations_are_all_reported_at_once(tmp_path):
    problems = problems_of(tmp_path, changed(PRODUCTION, nodes__web2__address='10.9.9.9',
                                             nodes__nat1=DELETE, profile={'dev_mode_allowed': True}))
    assert problems == [
        'env.yml: environment orolab/prod: nodes: a production environment needs exactly 1 nat node, found 0',
        'env.yml: environment orolab/prod: nodes.web2.address: 10.9.9.9 is outside network.application 10.231.1.0/24',
        'env.yml: environment orolab/prod: profile.dev_mode_allowed: application dev mode is not allowed in a '
        'production environment',
    ]


def test_type_errors_name_every_bad_key_before_any_rule(tmp_path):
    problems = problems_of(tmp_path, changed(PRODUCTION, type='prod', nodes__web1__address='x'))
    assert problems == [
        "env.yml: environment orolab/prod: type: 'prod' is not one of: development, testing, staging, production",
        "env.yml: environment orolab/prod: nodes.web1.address: 'x' is not an IP address",
    ]


def test_unreadable_file_is_a_problem(tmp_path):
    with pytest.raises(model.EnvironmentFileError, match=r'missing\.yml: cannot read'):
        model.load_environment(str(tmp_path / 'missing.yml'), 'missing.yml')


# --------------------------------------------------------------------------------------------------
# Profiles and services


@pytest.mark.parametrize('env_type', list(model.EnvType))
def test_profile_defaults_agree_with_their_type(env_type):
    assert model.profile_problems(env_type, model.PROFILES[env_type]) == []


def test_profile_table_matches_oro_operations():
    p = model.PROFILES
    assert [t for t in model.EnvType if p[t].dev_mode_allowed] == ['development', 'testing']
    assert {t: p[t].mail for t in model.EnvType} == {
        'development': 'none', 'testing': 'allow_list', 'staging': 'allow_list', 'production': 'unrestricted'}
    assert {t: p[t].as_dict()['backups'] for t in model.EnvType} == {
        'development': {}, 'testing': {'daily': 7}, 'staging': {'daily': 14},
        'production': {'hourly': 7 * 24, 'weekly': 4, 'monthly': 12}}
    assert [t for t in model.EnvType if p[t].disaster_recovery] == ['production']
    assert {t: p[t].data for t in model.EnvType} == {
        'development': 'minimal', 'testing': 'minimal', 'staging': 'sanitized', 'production': 'live'}


@pytest.mark.parametrize(('data', 'expected'), [
    pytest.param(changed(DEVELOPMENT, type='testing', profile={'mail_allow_list': ['Acme.example']}),
                 {'mail': 'allow_list', 'mail_allow_list': ['acme.example']}, id='testing-allow-list'),
    pytest.param(changed(DEVELOPMENT, profile={'data': 'sanitized', 'dev_mode_allowed': False}),
                 {'data': 'sanitized', 'dev_mode_allowed': False}, id='stricter-development'),
    pytest.param(changed(DEVELOPMENT, profile={'backups': {'daily': 3}, 'disaster_recovery': True}),
                 {'backups': {'daily': 3}, 'disaster_recovery': True}, id='dev-with-backups'),
    pytest.param(changed(PRODUCTION, profile={'backups': {'monthly': 24, 'hourly': 48}}),
                 {'backups': {'hourly': 48, 'monthly': 24}}, id='prod-backups-replaced'),
    pytest.param(changed(PRODUCTION, profile={'mail': 'allow_list', 'mail_allow_list': ['acme.example'],
                                              'disaster_recovery': False}),
                 {'mail': 'allow_list', 'disaster_recovery': False}, id='stricter-production'),
])
def test_profile_overrides_apply(tmp_path, data, expected):
    env = load(tmp_path, data)
    profile = env.profile.as_dict()
    assert {key: profile[key] for key in expected} == expected
    assert env.profile_overrides == frozenset(data['profile'])
    untouched = model.PROFILES[env.type].as_dict()
    assert {k: v for k, v in profile.items() if k not in data['profile']} == {
        k: v for k, v in untouched.items() if k not in data['profile']}


def test_service_support_is_the_seed_table():
    full = {str(s) for s in model.Service}
    levels = {str(d): {str(s): str(v) for s, v in row.items()} for d, row in model.SERVICE_SUPPORT.items()}
    assert set(levels['orocloud'].values()) == {'full'} and set(levels['orocloud']) == full
    assert levels['public_cloud'] == {
        'application_support': 'full', 'application_operations': 'full', 'maintenance_tools': 'full',
        'patch_management': 'full', 'disaster_recovery': 'supportable', 'infrastructure_services': 'supportable',
        'access_management': 'supportable', 'billing_management': 'none'}
    assert levels['private_cloud'] == {
        'application_support': 'full', 'application_operations': 'full', 'maintenance_tools': 'full',
        'patch_management': 'full', 'disaster_recovery': 'supportable', 'infrastructure_services': 'none',
        'access_management': 'none', 'billing_management': 'none'}
    assert {s for s, v in levels['on_premise'].items() if v != 'none'} == {'application_support'}


@pytest.mark.parametrize(('deployment', 'expected'), [
    ('orocloud', 8), ('public_cloud', 7), ('private_cloud', 5), ('on_premise', 1)])
def test_managed_services(deployment, expected):
    managed = model.managed_services(deployment)
    assert len(managed) == expected and managed[0] is model.Service.APPLICATION_SUPPORT
    assert model.is_managed('supportable') and not model.is_managed('none')


# --------------------------------------------------------------------------------------------------
# The fleet


def fleet(tmp_path, *datas):
    files = [(str(write(tmp_path, f'{i}.yml', d)), f'{i}.yml') for i, d in enumerate(datas)]
    return model.load_fleet(files)


def other_env(**changes):
    base = changed(PRODUCTION, project='acme', **changes)
    base['network'] = {'application': '10.50.1.0/24', 'dmz': '10.50.2.0/24'}
    base['nodes'] = {name: {k: (v.replace('10.231.1.', '10.50.1.').replace('10.231.2.', '10.50.2.')
                                .replace('10.231.0.', '203.0.113.'))
                            if isinstance(v, str) else v for k, v in node.items()}
                     for name, node in PRODUCTION['nodes'].items()}
    return base


def test_fleet_loads_in_file_order(tmp_path):
    envs = fleet(tmp_path, PRODUCTION, other_env(), DEVELOPMENT)
    assert [env.ident for env in envs] == ['orolab/prod', 'acme/prod', 'acme/dev']
    assert [env.source for env in envs] == ['0.yml', '1.yml', '2.yml']


def test_two_environments_claiming_one_address(tmp_path):
    second = other_env()
    second['nodes']['web2']['address'] = '10.50.1.12'
    second['nodes']['lb1']['public_address'] = '10.231.0.10'
    with pytest.raises(model.EnvironmentFileError) as caught:
        fleet(tmp_path, PRODUCTION, second)
    assert caught.value.problems == (
        '1.yml: environment acme/prod: nodes.lb1.public_address: 10.231.0.10 is already claimed by '
        'environment orolab/prod (0.yml, nodes.lb1.public_address)',)


def test_one_environment_described_twice(tmp_path):
    with pytest.raises(model.EnvironmentFileError, match=r'1.yml: environment orolab/prod: is also described in 0.yml'):
        fleet(tmp_path, PRODUCTION, PRODUCTION)


def test_a_broken_file_fails_the_fleet_and_every_problem_is_listed(tmp_path):
    with pytest.raises(model.EnvironmentFileError) as caught:
        fleet(tmp_path, PRODUCTION, 'nodes: [', changed(DEVELOPMENT, type='devel'))
    assert [p.split(':')[0] for p in caught.value.problems] == ['1.yml', '2.yml']


# --------------------------------------------------------------------------------------------------
# The inventory


def lab_inventory(**options):
    return model.build_inventory([model.load_environment(str(LAB_ENV), 'prod.yml')], **options)


LAB_HOSTS = ['orolab-prod-lb1', 'orolab-prod-web1', 'orolab-prod-web2', 'orolab-prod-web3', 'orolab-prod-db1',
             'orolab-prod-bridge1', 'orolab-prod-vpn1', 'orolab-prod-nat1']


def test_lab_groups():
    groups = model.groups(lab_inventory())
    for name in ('orocloud', 'project_orolab', 'env_orolab_prod', 'type_production', 'deployment_orocloud'):
        assert groups[name] == LAB_HOSTS
    assert {name: hosts for name, hosts in groups.items() if name.startswith('role_')} == {
        'role_load_balancer': ['orolab-prod-lb1'],
        'role_web': ['orolab-prod-web1', 'orolab-prod-web2', 'orolab-prod-web3'],
        'role_consumer': ['orolab-prod-web1', 'orolab-prod-web2', 'orolab-prod-web3'],
        'role_cron': ['orolab-prod-web1'],
        'role_database': ['orolab-prod-db1'],
        'role_cache': ['orolab-prod-db1'],
        'role_message_queue': ['orolab-prod-db1'],
        'role_bridge': ['orolab-prod-bridge1'],
        'role_vpn_gateway': ['orolab-prod-vpn1'],
        'role_nat': ['orolab-prod-nat1'],
    }
    assert len(groups) == 15


def test_lab_hostvars():
    hostvars = model.hostvars(lab_inventory())
    assert list(hostvars) == LAB_HOSTS
    assert hostvars['orolab-prod-web2'] == {
        'orocloud_project': 'orolab',
        'orocloud_environment': 'prod',
        'orocloud_environment_type': 'production',
        'orocloud_deployment': 'orocloud',
        'orocloud_environment_group': 'env_orolab_prod',
        'orocloud_application_version': '6.1.0',
        'orocloud_network': {'application': '10.231.1.0/24', 'dmz': '10.231.2.0/24', 'edge_sources': ['10.231.0.0/24']},
        'orocloud_profile': {'dev_mode_allowed': False, 'mail': 'unrestricted', 'mail_allow_list': [],
                             'backups': {'hourly': 168, 'weekly': 4, 'monthly': 12},
                             'disaster_recovery': True, 'data': 'live'},
        'orocloud_services': {str(s): 'full' for s in model.Service},
        'orocloud_bridge': 'orolab-prod-bridge1',
        'orocloud_node': 'web2',
        'orocloud_roles': ['web', 'consumer'],
        'orocloud_address': '10.231.1.12',
        'orocloud_subnet': 'application',
        'orocloud_dmz_address': None,
        'orocloud_public_address': None,
        'ansible_host': '10.231.1.12',
        'ansible_ssh_common_args': '-o ProxyJump=10.231.2.30',
    }
    reach = {name: (hv['ansible_host'], hv.get('ansible_ssh_common_args'), hv['orocloud_subnet'])
             for name, hv in hostvars.items()}
    jump = '-o ProxyJump=10.231.2.30'
    assert reach == {
        'orolab-prod-lb1': ('10.231.1.10', jump, 'application'),
        'orolab-prod-web1': ('10.231.1.11', jump, 'application'),
        'orolab-prod-web2': ('10.231.1.12', jump, 'application'),
        'orolab-prod-web3': ('10.231.1.13', jump, 'application'),
        'orolab-prod-db1': ('10.231.1.21', jump, 'application'),
        'orolab-prod-bridge1': ('10.231.2.30', None, 'application'),
        'orolab-prod-vpn1': ('10.231.2.20', None, 'dmz'),
        'orolab-prod-nat1': ('10.231.1.40', jump, 'application'),
    }
    assert hostvars['orolab-prod-bridge1']['orocloud_dmz_address'] == '10.231.2.30'
    assert hostvars['orolab-prod-vpn1']['orocloud_public_address'] == '10.231.0.20'


@pytest.mark.parametrize(('options', 'expected'), [
    ({'jump_user': 'ops'}, '-o ProxyJump=ops@10.231.2.30'),
    ({'proxy_jump': False}, None),
    ({'proxy_jump': False, 'jump_user': 'ops'}, None),
])
def test_proxy_jump_options(options, expected):
    hostvars = model.hostvars(lab_inventory(**options))
    assert hostvars['orolab-prod-web1'].get('ansible_ssh_common_args') == expected
    assert 'ansible_ssh_common_args' not in hostvars['orolab-prod-bridge1']


def test_ipv6_jump_host_is_bracketed(tmp_path):
    data = changed(PRODUCTION, network__dmz='fd00:2::/64', nodes__vpn1__address='fd00:2::20',
                   nodes__bridge1__dmz_address='fd00:2::30')
    hostvars = model.hostvars(model.build_inventory([load(tmp_path, data)], jump_user='ops'))
    assert hostvars['orolab-prod-web1']['ansible_ssh_common_args'] == '-o ProxyJump=ops@[fd00:2::30]'
    assert hostvars['orolab-prod-bridge1']['ansible_host'] == 'fd00:2::30'


def test_single_host_environment(tmp_path):
    inventory = model.build_inventory([load(tmp_path, DEVELOPMENT)])
    (host,) = inventory['environments'][0]['hosts']
    hostvars = model.hostvars(inventory)['acme-dev-app1']
    assert host['groups'] == ['role_web', 'role_consumer', 'role_cron', 'role_database', 'role_cache',
                              'role_message_queue']
    assert hostvars['ansible_host'] == '10.20.1.10'
    assert 'ansible_ssh_common_args' not in hostvars
    assert hostvars['orocloud_bridge'] is None
    assert hostvars['orocloud_network'] == {'application': '10.20.1.0/24', 'dmz': None, 'edge_sources': []}
    assert hostvars['orocloud_profile']['dev_mode_allowed'] is True


def test_inventory_is_plain_json():
    inventory = lab_inventory()
    assert json.loads(json.dumps(inventory)) == inventory
    assert inventory['format'] == model.INVENTORY_FORMAT


@pytest.mark.parametrize(('fmt', 'expected'), [
    ('{node}.{environment}.{project}.example.net', 'web1.prod.orolab.example.net'),
    ('{type}_{deployment}_{project}_{node}', 'production_orocloud_orolab_web1'),
    ('{project}-{environment}-{node}', 'orolab-prod-web1'),
])
def test_host_name_format(fmt, expected):
    assert expected in model.hostvars(lab_inventory(host_name_format=fmt))


@pytest.mark.parametrize(('fmt', 'message'), [
    ('{project}-{environment}', 'must contain {node}'),
    ('{node.__class__}', 'is not one of {project}'),
    ('{node!r}', 'is not one of'),
    ('{node:>10}', 'is not one of'),
    ('{host}', 'is not one of'),
    ('{node} {project}', "' ' has characters other than"),
    ('{node', 'expected'),
    ('', 'must contain {node}'),
])
def test_bad_host_name_formats(fmt, message):
    with pytest.raises(ValueError, match=message.replace('{', r'\{').replace('}', r'\}').replace('.', r'\.')):
        model.check_host_name_format(fmt)


@pytest.mark.parametrize('user', ['ops', 'deploy.bot', 'svc_1'])
def test_good_jump_users(user):
    model.check_jump_user(user)


@pytest.mark.parametrize('user', ['', 'ops@x', 'a b', '-oProxyCommand=x'])
def test_bad_jump_users(user):
    with pytest.raises(ValueError, match='is not a user name'):
        model.check_jump_user(user)


def test_host_names_claimed_twice(tmp_path):
    envs = fleet(tmp_path, PRODUCTION, other_env())
    with pytest.raises(model.EnvironmentFileError) as caught:
        model.build_inventory(envs, host_name_format='{environment}-{node}')
    assert caught.value.problems[0] == (
        '1.yml: environment acme/prod: nodes.lb1: host name prod-lb1 is also the host name of orolab/prod node lb1')
    assert len(caught.value.problems) == len(PRODUCTION['nodes'])


def test_environment_groups_claimed_twice(tmp_path):
    envs = fleet(tmp_path, changed(DEVELOPMENT, project='a-b', environment='c'),
                 changed(DEVELOPMENT, project='a', environment='b-c', nodes__app1__address='10.20.1.11'))
    with pytest.raises(model.EnvironmentFileError) as caught:
        model.build_inventory(envs)
    assert caught.value.problems == (
        '1.yml: environment a/b-c: its group env_a_b_c is also the group of environment a-b/c; '
        'rename the project or environment',
        '1.yml: environment a/b-c: nodes.app1: host name a-b-c-app1 is also the host name of a-b/c node app1',
    )


def test_group_names_are_sanitized():
    assert model.group_name('env', 'acme-b2b', 'prod-eu') == 'env_acme_b2b_prod_eu'
    assert model.group_name('role', model.Role.MESSAGE_QUEUE) == 'role_message_queue'


# --------------------------------------------------------------------------------------------------
# Finding files, fingerprints


def test_discover(tmp_path):
    for name in ('environments/b.yml', 'environments/a.yaml', 'environments/acme/prod.yml',
                 'environments/.hidden.yml', 'environments/.git/x.yml', 'environments/group_vars/all.yml',
                 'environments/notes.md', 'environments/fleet.orocloud.yml', 'single.yml'):
        write(tmp_path, name, 'x: 1\n')
    found = model.discover(['environments', 'single.yml', 'environments/b.yml'], str(tmp_path))
    assert [label for _path, label in found] == [
        'environments/a.yaml', 'environments/acme/prod.yml', 'environments/b.yml', 'single.yml']
    assert all(os.path.isabs(path) for path, _label in found)


def test_discover_outside_the_base_directory_labels_absolute_paths(tmp_path):
    path = write(tmp_path, 'elsewhere/x.yml', 'x: 1\n')
    (base := tmp_path / 'inventory').mkdir()
    assert model.discover([str(path)], str(base)) == [(str(path), str(path))]


def test_discover_missing_source(tmp_path):
    with pytest.raises(model.EnvironmentFileError, match='envs: no such file or directory'):
        model.discover(['envs'], str(tmp_path))


def test_fingerprint_follows_files_and_settings(tmp_path):
    path = write(tmp_path, 'a.yml', 'x: 1\n')
    settings = {'proxy_jump': True}
    first = model.fingerprint([str(path)], settings)
    assert model.fingerprint([str(path)], dict(settings)) == first
    assert model.fingerprint([str(path)], {'proxy_jump': False}) != first
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    touched = model.fingerprint([str(path)], settings)
    assert touched != first
    path.write_text('x: 22\n')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert model.fingerprint([str(path)], settings) != touched
    other = write(tmp_path, 'b.yml', 'x: 1\n')
    assert model.fingerprint([str(path), str(other)], settings) != model.fingerprint([str(path)], settings)
