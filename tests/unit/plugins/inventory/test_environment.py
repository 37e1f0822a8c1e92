# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""orocloud.ops.environment end to end: configuration, groups, hostvars, constructed features, cache."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import is_trusted_as_template
from ansible.utils.display import Display

from ansible_collections.orocloud.ops.plugins.plugin_utils import _environment as model

NAME = 'orocloud.ops.environment'
ROOT = Path(__file__).resolve().parents[4]
LAB_ENV = ROOT / 'inventories' / 'lab' / 'environments' / 'prod.yml'
LAB_HOSTS = ['orolab-prod-lb1', 'orolab-prod-web1', 'orolab-prod-web2', 'orolab-prod-web3', 'orolab-prod-db1',
             'orolab-prod-bridge1', 'orolab-prod-vpn1', 'orolab-prod-nat1']
DEV_ENV = {
    'project': 'acme', 'environment': 'dev', 'type': 'development', 'deployment': 'on_premise',
    'application': {'version': '6.1.4'}, 'network': {'application': '10.20.1.0/24'},
    'nodes': {'app1': {'roles': ['web', 'consumer', 'cron', 'database', 'cache', 'message_queue'],
                       'address': '10.20.1.10'}},
}


@pytest.fixture
def fleet(tmp_path):
    """Write a configuration and environment files; returns the configuration's path."""

    def make(config: dict | None = None, envs: dict[str, object] | None = None, name: str = 'fleet.orocloud.yml'):
        (tmp_path / 'environments').mkdir(exist_ok=True)
        for file, data in ({'prod.yml': LAB_ENV.read_text()} if envs is None else envs).items():
            path = tmp_path / 'environments' / file
            path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
        path = tmp_path / name
        path.write_text(yaml.safe_dump({'plugin': NAME, **(config or {})}))
        return path

    return make


def parse(path: Path, cache: bool = True) -> InventoryData:
    """The plugin alone on an empty inventory (errors raise)."""
    inventory = InventoryData()
    inventory_loader.get(NAME).parse(inventory, DataLoader(), str(path), cache=cache)
    return inventory


def manager(*sources: Path) -> InventoryManager:
    """What ansible-inventory and ansible-playbook do: the `auto` plugin hands the file to this plugin."""
    return InventoryManager(DataLoader(), sources=[str(source) for source in sources])


def members(inventory) -> dict[str, list[str]]:
    groups = inventory.groups
    return {name: [host.name for host in group.hosts] for name, group in groups.items() if group.hosts}


@pytest.mark.parametrize(('name', 'expected'), [
    ('fleet.orocloud.yml', True),
    ('fleet.orocloud.yaml', True),
    ('fleet.yml', False),
    ('orocloud.yml', False),
    ('fleet.orocloud.yml.bak', False),
])
def test_verify_file(tmp_path, name, expected):
    path = tmp_path / name
    path.write_text(f'plugin: {NAME}\n')
    assert inventory_loader.get(NAME).verify_file(str(path)) is expected


def test_verify_file_needs_a_readable_file(tmp_path):
    assert not inventory_loader.get(NAME).verify_file(str(tmp_path / 'absent.orocloud.yml'))


# --------------------------------------------------------------------------------------------------
# Groups and hostvars


def test_the_lab_inventory_end_to_end():
    inventory = manager(ROOT / 'inventories' / 'lab' / 'lab.orocloud.yml')
    groups = members(inventory)
    for name in ('orocloud', 'project_orolab', 'env_orolab_prod', 'type_production', 'deployment_orocloud'):
        assert groups[name] == LAB_HOSTS, name
    assert groups['role_web'] == ['orolab-prod-web1', 'orolab-prod-web2', 'orolab-prod-web3']
    assert groups['role_cron'] == ['orolab-prod-web1']
    assert groups['role_vpn_gateway'] == ['orolab-prod-vpn1']
    assert sorted(inventory.groups) == sorted([
        'all', 'ungrouped', 'orocloud', 'project_orolab', 'env_orolab_prod', 'type_production',
        'deployment_orocloud', 'role_load_balancer', 'role_web', 'role_consumer', 'role_cron', 'role_database',
        'role_cache', 'role_message_queue', 'role_bridge', 'role_vpn_gateway', 'role_nat'])

    web1 = inventory.get_host('orolab-prod-web1').vars
    assert web1['ansible_host'] == '10.231.1.11'
    assert web1['ansible_ssh_common_args'] == '-o ProxyJump=10.231.2.30'
    assert web1['orocloud_roles'] == ['web', 'consumer', 'cron']
    assert web1['orocloud_bridge'] == 'orolab-prod-bridge1'
    assert web1['orocloud_profile']['backups'] == {'hourly': 168, 'weekly': 4, 'monthly': 12}
    assert web1['inventory_file'].endswith('lab.orocloud.yml')
    bridge = inventory.get_host('orolab-prod-bridge1').vars
    vpn = inventory.get_host('orolab-prod-vpn1').vars
    assert (bridge['ansible_host'], vpn['ansible_host']) == ('10.231.2.30', '10.231.2.20')
    assert 'ansible_ssh_common_args' not in bridge and 'ansible_ssh_common_args' not in vpn


def test_hostvars_are_the_models(fleet):
    inventory = manager(fleet())
    expected = model.hostvars(model.build_inventory([model.load_environment(str(LAB_ENV), 'x')]))
    for name, hostvars in expected.items():
        actual = inventory.get_host(name).vars
        assert {key: actual[key] for key in hostvars} == hostvars


def test_values_from_files_are_never_templates(fleet):
    inventory = manager(fleet())
    hostvars = inventory.get_host('orolab-prod-web1').vars
    strings = [hostvars['orocloud_project'], hostvars['ansible_host'], hostvars['orocloud_roles'][0],
               hostvars['orocloud_network']['application'], hostvars['orocloud_profile']['mail'],
               hostvars['ansible_ssh_common_args']]
    assert not any(is_trusted_as_template(value) for value in strings)


def test_options_change_names_and_jumps(fleet):
    inventory = manager(fleet({'host_name_format': '{node}.{environment}.{project}', 'jump_user': 'ops'}))
    assert inventory.get_host('web1.prod.orolab').vars['ansible_ssh_common_args'] == '-o ProxyJump=ops@10.231.2.30'
    inventory = manager(fleet({'proxy_jump': False}))
    assert 'ansible_ssh_common_args' not in inventory.get_host('orolab-prod-web1').vars


def test_a_fleet_of_several_files(fleet):
    path = fleet(envs={'prod.yml': LAB_ENV.read_text(), 'dev.yml': DEV_ENV})
    (globex := path.parent / 'environments' / 'globex').mkdir()
    (globex / 'dev.yml').write_text(yaml.safe_dump(
        {**DEV_ENV, 'project': 'globex', 'nodes': {'app1': {**DEV_ENV['nodes']['app1'], 'address': '10.20.1.11'}}}))
    groups = members(manager(path))
    assert len(groups['orocloud']) == 10
    assert groups['deployment_on_premise'] == ['acme-dev-app1', 'globex-dev-app1']
    assert groups['type_development'] == ['acme-dev-app1', 'globex-dev-app1']
    assert groups['project_globex'] == ['globex-dev-app1']
    assert groups['env_orolab_prod'] == LAB_HOSTS


# --------------------------------------------------------------------------------------------------
# Constructed features


def test_compose_groups_and_keyed_groups(fleet):
    path = fleet({
        'strict': True,
        'compose': {'oro_major': "orocloud_application_version.split('.')[0] | int",
                    'jumps': 'ansible_ssh_common_args is defined'},
        'groups': {'through_bridge': 'jumps', 'hourly_backups': "'hourly' in orocloud_profile.backups"},
        'keyed_groups': [{'key': 'orocloud_subnet', 'prefix': 'subnet'},
                         {'key': 'orocloud_roles', 'prefix': 'runs', 'parent_group': 'by_role'}],
    })
    inventory = manager(path)
    groups = members(inventory)
    assert inventory.get_host('orolab-prod-db1').vars['oro_major'] == 6
    assert groups['through_bridge'] == ['orolab-prod-lb1', 'orolab-prod-web1', 'orolab-prod-web2',
                                        'orolab-prod-web3', 'orolab-prod-db1', 'orolab-prod-nat1']
    assert groups['hourly_backups'] == LAB_HOSTS
    assert groups['subnet_dmz'] == ['orolab-prod-vpn1']
    assert groups['runs_message_queue'] == ['orolab-prod-db1']
    assert 'runs_web' in [g.name for g in inventory.groups['by_role'].child_groups]


def test_strict_constructed_errors_fail(fleet):
    path = fleet({'strict': True, 'compose': {'x': 'no_such_variable + 1'}})
    with pytest.raises(AnsibleError, match='Could not set x for host'):
        parse(path)


def test_lenient_constructed_errors_are_skipped(fleet):
    inventory = parse(fleet({'compose': {'x': 'no_such_variable + 1'}, 'groups': {'g': 'no_such_variable'}}))
    assert 'x' not in inventory.get_host('orolab-prod-web1').vars
    assert 'g' not in inventory.groups


# --------------------------------------------------------------------------------------------------
# Errors: nothing partial


def test_a_broken_file_loads_nothing_and_names_every_problem(fleet):
    broken = LAB_ENV.read_text().replace('10.231.1.12', '10.9.9.9').replace('[nat]', '[nat, web]')
    path = fleet(envs={'dev.yml': DEV_ENV, 'prod.yml': broken})
    inventory = InventoryData()
    with pytest.raises(AnsibleParserError) as caught:
        inventory_loader.get(NAME).parse(inventory, DataLoader(), str(path), cache=False)
    message = str(caught.value)
    assert f'{path}: 2 problems in the environment files, nothing loaded:' in message
    assert ('environments/prod.yml: environment orolab/prod: nodes.web2.address: 10.9.9.9 is outside '
            'network.application 10.231.1.0/24') in message
    assert ('environments/prod.yml: environment orolab/prod: nodes.nat1.roles: a nat node carries no other role '
            'in a production environment (remove web)') in message
    assert isinstance(caught.value.__cause__, model.EnvironmentFileError)
    assert inventory.hosts == {}
    assert 'acme-dev-app1' not in inventory.hosts


def test_through_ansible_a_broken_fleet_leaves_no_hosts(fleet):
    path = fleet(envs={'dev.yml': DEV_ENV, 'bad.yml': 'project: [\n'})
    assert manager(path).hosts == {}


def test_two_files_claiming_one_address(fleet):
    other = {**DEV_ENV, 'network': {'application': '10.231.1.0/24'},
             'nodes': {'app1': {**DEV_ENV['nodes']['app1'], 'address': '10.231.1.11'}}}
    with pytest.raises(AnsibleParserError, match=r'environments/prod\.yml: environment orolab/prod: nodes\.web1\.'
                                                 r'address: 10\.231\.1\.11 is already claimed by environment '
                                                 r'acme/dev \(environments/dev\.yml, nodes\.app1\.address\)'):
        parse(fleet(envs={'prod.yml': LAB_ENV.read_text(), 'dev.yml': other}))


@pytest.mark.parametrize(('config', 'message'), [
    ({'host_name_format': '{project}'}, 'must contain {node}'),
    ({'jump_user': 'ops@evil'}, 'is not a user name'),
    ({'environments': ['nowhere']}, 'nowhere: no such file or directory'),
    ({'environment': 'envs'}, r'unknown option\(s\): environment'),
])
def test_bad_configuration(fleet, config, message):
    with pytest.raises(AnsibleError, match=message.replace('{', r'\{').replace('}', r'\}')):
        parse(fleet(config))


def test_an_empty_fleet_warns(fleet, monkeypatch):
    warnings = []
    monkeypatch.setattr(Display, 'warning', lambda self, msg, *a, **k: warnings.append(msg))
    inventory = parse(fleet(envs={}))
    assert inventory.hosts == {} and 'orocloud' in inventory.groups
    assert any('no environment files found in environments' in w for w in warnings)


def test_an_inventory_directory_source_is_explained(fleet, monkeypatch):
    warnings = []
    monkeypatch.setattr(Display, 'warning', lambda self, msg, *a, **k: warnings.append(str(msg)))
    path = fleet(name='zz.orocloud.yml')
    inventory = manager(path.parent)
    assert 'orolab-prod-web1' in inventory.hosts
    assert any('environments/prod.yml also went through' in w and 'ignore_patterns' in w for w in warnings)


# --------------------------------------------------------------------------------------------------
# Cache


@pytest.fixture
def cached_fleet(fleet, tmp_path):
    cache_dir = tmp_path / 'cache'
    return fleet({'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': str(cache_dir)}), \
        cache_dir


def spy_on_loading(monkeypatch) -> list[str]:
    calls = []
    real_load, real_yaml = model.load_fleet, model.read_yaml
    monkeypatch.setattr(model, 'load_fleet', lambda files: calls.append('load_fleet') or real_load(files))
    monkeypatch.setattr(model, 'read_yaml', lambda *a: calls.append('read_yaml') or real_yaml(*a))
    return calls


def test_cache_miss_then_hit(cached_fleet, monkeypatch):
    path, cache_dir = cached_fleet
    calls = spy_on_loading(monkeypatch)
    cold = manager(path)
    assert calls == ['load_fleet', 'read_yaml']
    entries = os.listdir(cache_dir)
    assert len(entries) == 1 and 'orocloud.ops.environment_k' in entries[0]

    calls.clear()
    warm = manager(path)
    assert calls == [], 'a warm cache parses and checks nothing'
    assert members(warm) == members(cold)
    for name in LAB_HOSTS:
        assert warm.get_host(name).vars == cold.get_host(name).vars


def test_cache_follows_file_changes(cached_fleet, monkeypatch):
    path, cache_dir = cached_fleet
    env_file = path.parent / 'environments' / 'prod.yml'
    manager(path)
    first = os.listdir(cache_dir)

    env_file.write_text(env_file.read_text().replace('6.1.0', '6.1.1'))
    stat = env_file.stat()
    os.utime(env_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    calls = spy_on_loading(monkeypatch)
    inventory = manager(path)
    assert calls[0] == 'load_fleet'
    assert inventory.get_host('orolab-prod-web1').vars['orocloud_application_version'] == '6.1.1'
    second = os.listdir(cache_dir)
    assert len(second) == 1 and second != first, 'the key changed and the stale entry is gone'

    calls.clear()
    (path.parent / 'environments' / 'dev.yml').write_text(yaml.safe_dump(DEV_ENV))
    assert 'acme-dev-app1' in manager(path).hosts
    assert calls[0] == 'load_fleet', 'a new file is a change too'


def test_cache_follows_option_changes(cached_fleet):
    path, _cache_dir = cached_fleet
    manager(path)
    config = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**config, 'jump_user': 'ops'}))
    web1 = manager(path).get_host('orolab-prod-web1').vars
    assert web1['ansible_ssh_common_args'] == '-o ProxyJump=ops@10.231.2.30'


def test_flushing_the_cache_rebuilds(cached_fleet, monkeypatch):
    path, _cache_dir = cached_fleet
    manager(path)
    calls = spy_on_loading(monkeypatch)
    parse(path, cache=False)
    assert calls[0] == 'load_fleet'


def test_a_foreign_cache_entry_is_a_miss(cached_fleet, monkeypatch):
    path, cache_dir = cached_fleet
    manager(path)
    (entry,) = cache_dir.iterdir()
    entry.write_text('{"format": 0}')
    calls = spy_on_loading(monkeypatch)
    assert 'orolab-prod-web1' in manager(path).hosts
    assert calls[0] == 'load_fleet'


# --------------------------------------------------------------------------------------------------
# The shipped example inventories


@pytest.mark.parametrize('config', sorted((ROOT / 'inventories').glob('*/*.orocloud.yml')),
                         ids=lambda p: p.parent.name)
def test_example_inventories(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a relative cache_connection goes
    copy = tmp_path / config.parent.name
    shutil.copytree(config.parent, copy, ignore=shutil.ignore_patterns('group_vars', '.cache'))
    inventory = parse(copy / config.name)
    hosts = members(inventory)['orocloud']
    assert hosts
    for name in hosts:
        hostvars = inventory.get_host(name).vars
        assert hostvars['ansible_host'] in (hostvars['orocloud_address'], hostvars['orocloud_dmz_address'])
    types = {group for group in inventory.groups if group.startswith('type_')}
    assert types == {'type_' + config.parent.name.replace('lab', 'production')}
