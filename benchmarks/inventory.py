# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How fast is orocloud.ops.environment against a static YAML inventory of the same hosts and vars?

Generates a synthetic fleet of production environments (10 nodes each) into a temporary directory,
builds from it one static YAML inventory with exactly the hosts, groups and hostvars the plugin
produces, then times ``ansible-inventory -i <source> --list`` (median of several runs) for:

- the static YAML inventory (the baseline),
- the plugin without cache (every file read and checked),
- the plugin with a warm jsonfile cache (no YAML parsed, nothing checked).

Each source runs with only the inventory plugin it needs enabled, so the baseline is not slowed down by
ansible-core's ``auto`` plugin also reading the large static file (``--default-plugins`` measures with
ansible-core's default plugin list instead). Prints the figures and the ratios against the baseline;
goals: plugin ≤ 1.0, plugin with warm cache ≤ 0.5. Not a test: nothing fails.

    .venv/bin/python benchmarks/inventory.py [--environments 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / '.build' / 'collections'
ANSIBLE_INVENTORY = ROOT / '.venv' / 'bin' / 'ansible-inventory'
NODES = 10


def environment(index: int) -> dict:
    """One production environment; every address unique in the fleet."""
    high, low = divmod(index, 256)
    app, dmz, public = f'10.{high}.{low}', f'10.{100 + high}.{low}', f'172.{16 + high}.{low}'
    return {
        'project': f'p{index:04d}',
        'environment': 'prod',
        'type': 'production',
        'deployment': 'orocloud',
        'application': {'version': '6.1.4'},
        'network': {'application': f'{app}.0/24', 'dmz': f'{dmz}.0/24', 'edge_sources': ['198.51.100.0/24']},
        'nodes': {
            'lb1': {'roles': ['load_balancer'], 'address': f'{app}.10', 'public_address': f'{public}.10'},
            'web1': {'roles': ['web', 'consumer', 'cron'], 'address': f'{app}.11'},
            'web2': {'roles': ['web', 'consumer'], 'address': f'{app}.12'},
            'web3': {'roles': ['web', 'consumer'], 'address': f'{app}.13'},
            'web4': {'roles': ['web', 'consumer'], 'address': f'{app}.14'},
            'db1': {'roles': ['database'], 'address': f'{app}.21'},
            'data1': {'roles': ['cache', 'message_queue', 'search'], 'address': f'{app}.22'},
            'bridge1': {'roles': ['bridge'], 'address': f'{app}.30', 'dmz_address': f'{dmz}.30'},
            'vpn1': {'roles': ['vpn_gateway'], 'address': f'{dmz}.20', 'public_address': f'{public}.20'},
            'nat1': {'roles': ['nat'], 'address': f'{app}.40', 'public_address': f'{public}.40'},
        },
    }


class _PlainDumper(yaml.CSafeDumper):
    """No anchors or aliases: a static inventory as someone would write it."""

    def ignore_aliases(self, data):
        return True


def write_fleet(base: Path, count: int) -> None:
    (base / 'environments').mkdir(parents=True)
    for index in range(count):
        path = base / 'environments' / f'p{index:04d}.yml'
        path.write_text(yaml.dump(environment(index), Dumper=yaml.CSafeDumper, sort_keys=False))
    (base / 'fleet.orocloud.yml').write_text('plugin: orocloud.ops.environment\n')
    (base / 'cached.orocloud.yml').write_text(yaml.safe_dump({
        'plugin': 'orocloud.ops.environment', 'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
        'cache_connection': str(base / 'cache'), 'cache_timeout': 86400}))


def write_static(base: Path) -> Path:
    """The plugin's inventory as one static YAML file: hostvars once, under `orocloud`."""
    _AnsibleCollectionFinder(paths=[str(COLLECTIONS)])._install()  # pylint: disable=protected-access
    model = importlib.import_module('ansible_collections.orocloud.ops.plugins.plugin_utils._environment')
    files = model.discover(['environments'], str(base))
    inventory = model.build_inventory(model.load_fleet(files))
    hostvars = model.hostvars(inventory)
    children: dict[str, dict] = {'orocloud': {'hosts': hostvars}}
    for group, hosts in model.groups(inventory).items():
        if group != 'orocloud':
            children[group] = {'hosts': dict.fromkeys(hosts)}
    path = base / 'static.yml'
    path.write_text(yaml.dump({'all': {'children': children}}, Dumper=_PlainDumper, sort_keys=False))
    return path


def timed(source: Path, env: dict[str, str], repeat: int) -> list[float]:
    runs = []
    for _run in range(repeat):
        start = time.perf_counter()
        subprocess.run([str(ANSIBLE_INVENTORY), '-i', str(source), '--list'], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        runs.append(time.perf_counter() - start)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--environments', type=int, default=1000, help='production environments (10 nodes each)')
    parser.add_argument('--repeat', type=int, default=3, help='runs per measurement (the median is reported)')
    parser.add_argument('--default-plugins', action='store_true',
                        help="use ansible-core's default inventory plugin list for every source")
    parser.add_argument('--keep', action='store_true', help='keep the generated files')
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix='orocloud-inventory-bench-'))
    (base / 'ansible.cfg').write_text('[defaults]\n')
    env = {key: value for key, value in os.environ.items() if not key.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_CONFIG=str(base / 'ansible.cfg'),
               ANSIBLE_HOME=str(base / 'home'), ANSIBLE_INVENTORY_UNPARSED_FAILED='true')

    def enabled(plugin: str) -> dict[str, str]:
        return env if args.default_plugins else {**env, 'ANSIBLE_INVENTORY_ENABLED': plugin}

    start = time.perf_counter()
    write_fleet(base, args.environments)
    static = write_static(base)
    hosts = args.environments * NODES
    print(f'fleet: {args.environments} production environments, {hosts} hosts, generated in '
          f'{time.perf_counter() - start:.1f} s under {base}')
    print(f"static inventory: {static.stat().st_size / 1e6:.1f} MB; inventory plugins: "
          f"{'ansible-core defaults' if args.default_plugins else 'only the one each source needs'}; "
          f'median of {args.repeat} runs of ansible-inventory --list')

    plugin = 'orocloud.ops.environment'
    results = {}
    results['static YAML inventory'] = timed(static, enabled('yaml'), args.repeat)
    results['plugin, no cache'] = timed(base / 'fleet.orocloud.yml', enabled(plugin), args.repeat)
    fill = timed(base / 'cached.orocloud.yml', enabled(plugin), 1)[0]
    results['plugin, warm jsonfile cache'] = timed(base / 'cached.orocloud.yml', enabled(plugin), args.repeat)

    baseline = statistics.median(results['static YAML inventory'])
    goals = {'plugin, no cache': 1.0, 'plugin, warm jsonfile cache': 0.5}
    for name, runs in results.items():
        median = statistics.median(runs)
        line = f'  {name:<28} {median:7.2f} s  (runs: {", ".join(f"{r:.2f}" for r in runs)})'
        if name in goals:
            ratio = median / baseline
            line += f'  ratio {ratio:.2f} (goal <= {goals[name]}{", met" if ratio <= goals[name] else ", NOT met"})'
        print(line)
    print(f'  {"(filling the cache, once)":<28} {fill:7.2f} s')

    if not args.keep:
        subprocess.run(['rm', '-rf', '--', str(base)], check=True)


if __name__ == '__main__':
    main()
