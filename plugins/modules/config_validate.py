#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: config_validate
short_description: Merge and validate an application's orocloud.yaml with its environment-type overlay
version_added: 0.1.0
description:
  - Reads C(orocloud.yaml) from the root of an OroCommerce application repository and the overlay file that OroCloud's
    maintenance agent merges over it for the environment type (C(orocloud_dev.yaml), C(orocloud_uat.yaml),
    C(orocloud_stag.yaml) or C(orocloud_prod.yaml)), merges them and validates the result.
  - "Merge rules: mappings merge recursively; a list or a scalar in the overlay replaces the value below it; an explicit
    V(null) removes the key; an empty C(orocloud_options) changes nothing."
  - Validates every key Oro documents under C(orocloud_options) (C(deployment), C(application), C(webserver),
    C(domains), C(mail), C(schedule), C(elasticsearch)) and the keys this collection adds (C(consumers),
    C(maintenance), C(backup)). See C(docs/configuration.md) in the collection for the full reference.
  - Errors name the file, the line and the key path (for example C(orocloud_options.consumers.0.queue)).
  - Never changes anything. With C(--diff) it shows what the overlay changes in the common file.
  - Secrets (basic-auth passwords, C(application.env_vars) values, Blackfire and New Relic keys) are masked in the
    returned configuration and diff.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - PyYAML on the managed node.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  path:
    description:
      - Directory holding C(orocloud.yaml), normally the root of the application repository.
      - The overlay is looked for in the same directory.
    type: path
    required: true
  environment_type:
    description:
      - Environment type whose overlay is merged over C(orocloud.yaml).
      - V(development) reads C(orocloud_dev.yaml), V(testing) C(orocloud_uat.yaml), V(staging) C(orocloud_stag.yaml)
        and V(production) C(orocloud_prod.yaml), the names OroCloud uses.
    type: str
    required: true
    choices: [development, testing, staging, production]
  overlay:
    description:
      - Overlay file to use instead of the one named after O(environment_type).
      - A name relative to O(path), or an absolute path. Unlike the default overlay, it must exist.
    type: str
  strict:
    description:
      - When V(true), keys the schema does not know are errors; when V(false), they are warnings.
    type: bool
    default: true
notes:
  - OroCloud itself also merges an environment-local C(/mnt/ocom/app/orocloud.yaml) under the repository's files;
    that file is not part of the repository and is not read here.
seealso:
  - name: OroCloud advanced configuration (orocloud.yaml)
    description: The keys Oro documents under C(orocloud_options).
    link: https://doc.oroinc.com/cloud/maintenance/advanced-use/
  - name: OroCloud configuration in different environments
    description: The environment-type overlay files.
    link: https://doc.oroinc.com/cloud/maintenance/dif-environments/
"""

EXAMPLES = r"""
- name: Validate the production configuration of the release checkout
  orocloud.ops.config_validate:
    path: /srv/acme/release
    environment_type: production
  register: orocloud_config

- name: Show the merged consumer queues
  ansible.builtin.debug:
    msg: "{{ orocloud_config.config.orocloud_options.consumers | default([]) | map(attribute='queue') | list }}"

- name: Validate a candidate overlay before committing it, tolerating keys the schema does not know
  orocloud.ops.config_validate:
    path: /srv/acme/checkout
    environment_type: staging
    overlay: /tmp/orocloud_stag.candidate.yaml
    strict: false

- name: Show what the testing overlay changes (run with --diff)
  orocloud.ops.config_validate:
    path: /srv/acme/checkout
    environment_type: testing
  diff: true
"""

RETURN = r"""
config:
  description:
    - The merged configuration (common file, then overlay), secrets masked.
  returned: success
  type: dict
  sample:
    orocloud_options:
      consumers:
        - queue: oro.default
          processes: 4
      mail:
        whitelist: [example.com]
files:
  description: The files read, in merge order.
  returned: always
  type: list
  elements: str
  sample: [/srv/acme/release/orocloud.yaml, /srv/acme/release/orocloud_prod.yaml]
overlay:
  description: The overlay file looked for, whether or not it exists.
  returned: success
  type: str
  sample: /srv/acme/release/orocloud_prod.yaml
errors:
  description: Every error found, in reading order; the module fails when there is one.
  returned: failure
  type: list
  elements: dict
  contains:
    file:
      description: The file that set the value (or the file that is missing or does not parse).
      returned: always
      type: str
      sample: /srv/acme/release/orocloud_prod.yaml
    line:
      description: The line in RV(errors[].file), or V(null) when not known.
      returned: always
      type: int
      sample: 7
    path:
      description: The key path in the merged document, dotted, list items by index; empty for whole-file errors.
      returned: always
      type: str
      sample: orocloud_options.consumers.0.queue
    reason:
      description: What is wrong.
      returned: always
      type: str
      sample: required key is missing
  sample:
    - file: /srv/acme/release/orocloud_prod.yaml
      line: 7
      path: orocloud_options.consumers.0.queue
      reason: required key is missing
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._orocloud_config import (
    ENVIRONMENT_TYPES,
    OroCloudConfigError,
    load_layered_config,
    mask_secrets,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            environment_type=dict(type="str", required=True, choices=list(ENVIRONMENT_TYPES)),
            overlay=dict(type="str"),
            strict=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = load_layered_config(params["path"], params["environment_type"], params["overlay"], params["strict"])
    except OroCloudConfigError as exc:
        module.fail_json(msg=str(exc), files=[])

    for warning in result.warnings:
        module.warn(str(warning))
    if result.errors:
        count = len(result.errors)
        module.fail_json(
            msg="orocloud configuration for %s is invalid (%d error%s):\n%s"
            % (params["environment_type"], count, "" if count == 1 else "s", "\n".join(str(e) for e in result.errors)),
            errors=[error.as_dict() for error in result.errors],
            files=result.files,
        )

    output = dict(changed=False, config=mask_secrets(result.config), files=result.files, overlay=result.overlay)
    if module._diff:
        output["diff"] = dict(before=mask_secrets(result.common), after=output["config"])
    module.exit_json(**output)


if __name__ == "__main__":
    main()
