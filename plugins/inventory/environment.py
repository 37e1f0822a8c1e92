# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: environment
short_description: OroCommerce environments described in environment files
version_added: 0.1.0
author:
  - orocloud.ops contributors (!UNKNOWN)
description:
  - Builds an inventory from OroCommerce environment files, one small YAML file per environment
    (project, environment type, deployment type, application version, subnets, nodes and their roles).
    A directory of environment files is a fleet.
  - The configuration file's name must end with C(.orocloud.yml) or C(.orocloud.yaml).
  - Every file is checked before anything is added to the inventory (types and unknown keys, the
    topology that the environment type requires, every address inside its subnet, no address claimed
    twice in the fleet, profile overrides that do not contradict the type). Any problem in any file
    fails the whole source, listing every problem with its file, environment and key path; nothing is
    loaded.
  - Development and testing environments are single-host. Staging and production environments have a
    load balancer, at least two web nodes, one cron node, a bridge (application subnet and DMZ), a VPN
    gateway alone in the DMZ and a NAT node.
  - "Hosts are named C({project}-{environment}-{node}) by default and put in the groups C(orocloud),
    C(project_<project>), C(env_<project>_<environment>), C(type_<type>), C(deployment_<deployment>)
    and C(role_<role>)."
  - "Hostvars, all prefixed C(orocloud_): C(project), C(environment), C(environment_type), C(deployment),
    C(environment_group), C(node), C(roles), C(address), C(subnet), C(dmz_address), C(public_address),
    C(network), C(application_version), C(profile) (the env-type profile with the file's overrides),
    C(services) (support level per service for the deployment type) and C(bridge) (the bridge's host
    name); plus C(ansible_host) and, for application-subnet nodes of multi-host environments,
    C(ansible_ssh_common_args) with a C(ProxyJump) through the bridge's DMZ address."
  - Values read from environment files are data, never templates.
  - The file format, the rules, the env-type profiles and the inventory shape are documented in
    C(docs/environment.md) of the collection.
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    type: str
    required: true
    choices: [orocloud.ops.environment]
  environments:
    description:
      - Environment files, or directories searched recursively for C(*.yml) and C(*.yaml) files.
      - Relative paths are relative to the directory of this configuration file.
      - Hidden entries, C(group_vars), C(host_vars) and plugin configurations (C(*.orocloud.yml)) are skipped.
    type: list
    elements: str
    default: [environments]
  host_name_format:
    description:
      - How inventory host names are made, as a Python format string.
      - Fields are V({project}), V({environment}), V({node}), V({type}) and V({deployment});
        V({node}) is required, other characters must be letters, digits, V(.), V(_) or V(-).
      - Host names must be unique across the fleet.
    type: str
    default: "{project}-{environment}-{node}"
  proxy_jump:
    description:
      - Set C(ansible_ssh_common_args) to C(-o ProxyJump=[jump_user@]<bridge DMZ address>) on every
        application-subnet node of a multi-host environment, so Ansible reaches it through the bridge.
      - The bridge and the VPN gateway are always reached directly at their DMZ address.
    type: bool
    default: true
  jump_user:
    description: User for the SSH jump through the bridge host; the SSH default when not set.
    type: str
"""

EXAMPLES = r"""
# inventories/production/production.orocloud.yml: every environment file under environments/
plugin: orocloud.ops.environment

---
# A fleet in two directories, host names with a domain, jump as an operator account
plugin: orocloud.ops.environment
environments:
  - environments/eu
  - environments/us
host_name_format: "{node}.{environment}.{project}.example.net"
jump_user: ops

---
# Reach nodes another way (e.g. the containers.podman connection); no ProxyJump
plugin: orocloud.ops.environment
proxy_jump: false

---
# Cache the computed inventory; it is rebuilt when any environment file changes
plugin: orocloud.ops.environment
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: .cache/inventory

---
# Constructed features on top of the orocloud_ hostvars
plugin: orocloud.ops.environment
strict: true
compose:
  oro_major: orocloud_application_version.split('.')[0] | int
groups:
  backed_up_hourly: "'hourly' in orocloud_profile.backups"
keyed_groups:
  - key: orocloud_application_version
    prefix: version
"""

import os
from typing import Any

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.plugins.loader import cache_loader

from ansible_collections.orocloud.ops.plugins.plugin_utils import _environment as model

CONFIG_SUFFIXES = ('.orocloud.yml', '.orocloud.yaml')


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """OroCommerce environment files → hosts, groups and ``orocloud_*`` hostvars."""

    NAME = 'orocloud.ops.environment'

    # Values from environment files stay data: since ansible-core 2.19 only strings tagged as trusted
    # are templated. The files are read with PyYAML (no trust tags) and the inventory applies none
    # because trusted_by_default stays False; jsonfile cache entries come back as plain strings too.
    trusted_by_default = False

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(CONFIG_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        config = self._read_config_data(path)
        unknown = sorted(str(key) for key in config if key not in self._options)
        if unknown:
            raise AnsibleParserError(f"{path}: unknown option(s): {', '.join(unknown)}")
        try:
            data = self._inventory_data(path, cache)
        except model.EnvironmentFileError as exc:
            count = len(exc.problems)
            # The problems verbatim: ansible-core then does not repeat the chained cause.
            raise AnsibleParserError(
                f'{path}: {count} problem{"s" if count > 1 else ""} in the environment files, '
                f'nothing loaded:\n{exc}') from exc
        except ValueError as exc:
            raise AnsibleParserError(f'{path}: {exc}') from exc
        self._populate(data)

    # ---------------------------------------------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        return {
            'host_name_format': self.get_option('host_name_format'),
            'proxy_jump': self.get_option('proxy_jump'),
            'jump_user': self.get_option('jump_user') or None,
        }

    def _inventory_data(self, path: str, cache: bool) -> dict[str, Any]:
        """The inventory data: from the cache when nothing changed, else loaded, checked and built."""
        settings = self._settings()
        model.check_host_name_format(settings['host_name_format'])
        model.check_jump_user(settings['jump_user'])
        files = model.discover(self.get_option('environments'), os.path.dirname(os.path.abspath(path)))
        if not files:
            self.display.warning(f'{path}: no environment files found in '
                                 f"{', '.join(self.get_option('environments'))}")
        self._warn_if_read_as_inventory(path, files)

        use_cache = self.get_option('cache')
        cache_key = f'{self.get_cache_key(path)}_{model.fingerprint([file for file, _label in files], settings)}'
        if use_cache and cache:
            data = self._cache.get(cache_key)
            if isinstance(data, dict) and data.get('format') == model.INVENTORY_FORMAT:
                return data

        data = model.build_inventory(model.load_fleet(files), **settings)
        if use_cache:
            self._cache[cache_key] = data
            self._prune_cache(self.get_cache_key(path), cache_key)
        return data

    def _warn_if_read_as_inventory(self, path: str, files: list[tuple[str, str]]) -> None:
        """Environment files inside an inventory directory given to ``-i`` are also read by
        ansible-core's own plugins (as static YAML inventories) unless ignored; say how to stop it."""
        sources = {os.path.normpath(source) for source in
                   getattr(self.inventory, 'processed_sources', None) or () if source}
        doubled = [label for file, label in files if file in sources]
        if doubled:
            self.display.warning(
                f"{path}: {', '.join(doubled)} also went through ansible-core's inventory plugins "
                'because the directory holding them is an inventory source; give the configuration file '
                'itself as the source, or skip the environment files with `[inventory] ignore_patterns '
                '= ^environments$` in ansible.cfg (ANSIBLE_INVENTORY_IGNORE_REGEX)')

    def _prune_cache(self, base_key: str, current_key: str) -> None:
        """Drop this source's entries for earlier versions of its files (best effort)."""
        option_names = (('_uri', 'cache_connection'), ('_timeout', 'cache_timeout'),
                        ('_prefix', 'cache_prefix'))
        options = {name: self.get_option(option) for name, option in option_names
                   if self.get_option(option) is not None}
        try:
            plugin = cache_loader.get(self.get_option('cache_plugin'), **options)
            keys = plugin.keys()  # a cache plugin, not a mapping
            for key in keys:
                if key.startswith(f'{base_key}_') and key != current_key:
                    plugin.delete(key)
        except Exception as exc:  # a stale cache entry is harmless
            self.display.vvv(f'{self.NAME}: could not prune old inventory cache entries: {exc}')

    def _populate(self, data: dict[str, Any]) -> None:
        inventory = self.inventory
        compose = self.get_option('compose')
        composed_groups = self.get_option('groups')
        keyed_groups = self.get_option('keyed_groups')
        strict = self.get_option('strict')
        construct = bool(compose or composed_groups or keyed_groups)

        inventory.add_group(model.ROOT_GROUP)
        for env in data['environments']:
            env_groups = [inventory.add_group(group) for group in env['groups']]
            env_vars = env['vars']
            for host in env['hosts']:
                name = host['name']
                for group in env_groups:
                    inventory.add_host(name, group=group)
                for group in host['groups']:
                    inventory.add_host(name, group=inventory.add_group(group))
                for key, value in env_vars.items():
                    inventory.set_variable(name, key, value)
                for key, value in host['vars'].items():
                    inventory.set_variable(name, key, value)
                if construct:
                    hostvars = {**env_vars, **host['vars']}
                    self._set_composite_vars(compose, hostvars, name, strict=strict)
                    self._add_host_to_composed_groups(composed_groups, hostvars, name, strict=strict)
                    self._add_host_to_keyed_groups(keyed_groups, hostvars, name, strict=strict)
