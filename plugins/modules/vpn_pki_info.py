#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpn_pki_info
short_description: Report the expiry of an OpenVPN gateway's CA, server and client certificates and CRL
version_added: 0.1.0
description:
  - Runs on the VPN gateway that the P(orocloud.ops.vpn_gateway#role) role set up and reads its PKI, the layout
    M(orocloud.ops.vpn_user) keeps. Nothing secret is read into the result (no private key is opened).
  - Reports the CA certificate, the server certificate, the certificate of every enrolled person and the CRL, each
    with its dates, the whole days left and a status, V(ok), V(expiring) (fewer than O(warn_days) days left),
    V(expired), V(missing) or V(invalid) (not issued or signed by the CA, or a revoked client certificate).
  - Emits an Ansible warning for each problem, so that a playbook run shows them; RV(problems) lists them too.
  - "OpenVPN refuses every connection once the CRL's next update is past (C(CRL has expired)): the role refreshes
    the CRL before that from this report; the CA must be replaced, and everybody enrolled again, before it
    expires."
  - Never changes anything.
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later and the C(cryptography) library (Debian package C(python3-cryptography)) on the gateway.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; the same report in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  pki_dir:
    description: The gateway's PKI directory (C(ca.crt), C(server.crt), C(issued/<name>.crt)).
    type: path
    default: /etc/openvpn/pki
  crl_path:
    description: The CRL that OpenVPN checks.
    type: path
    default: /etc/openvpn/server/crl.pem
  warn_days:
    description: A certificate or CRL with fewer days left than this is V(expiring) and warned about.
    type: int
    default: 30
seealso:
  - module: orocloud.ops.vpn_user
"""

EXAMPLES = r"""
- name: Read the VPN PKI's expiry dates
  orocloud.ops.vpn_pki_info:
    warn_days: 45
  become: true
  register: vpn_pki

- name: List the people whose VPN certificate expires soon
  ansible.builtin.debug:
    msg: "{{ vpn_pki.clients | selectattr('status', 'equalto', 'expiring') | map(attribute='name') }}"

- name: Fail when the CA has less than 90 days left
  ansible.builtin.assert:
    that: vpn_pki.ca.days_left >= 90
    fail_msg: "The VPN CA expires on {{ vpn_pki.ca.not_after }}: replace it and enrol everybody again"
"""

RETURN = r"""
ca:
  description:
    - The CA certificate. With C(exists), C(path), C(status) and, when it exists, C(subject), C(common_name),
      C(serial), C(not_before), C(not_after), C(days_left), C(fingerprint_sha256) and C(subject_ordered) (the
      subject as community.crypto's C(issuer_ordered) wants it).
  returned: always
  type: dict
  sample: {exists: true, path: /etc/openvpn/pki/ca.crt, status: ok, common_name: acme-prod VPN CA, days_left: 3640,
           not_after: "2036-02-28T10:00:00Z", subject_ordered: [{CN: acme-prod VPN CA}]}
server:
  description: The server certificate, with the same keys as RV(ca) (but no C(subject_ordered)).
  returned: always
  type: dict
  sample: {exists: true, path: /etc/openvpn/pki/server.crt, status: ok, common_name: acme-prod-vpn1, days_left: 815}
clients:
  description: The certificate of every enrolled person, by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The person's VPN user name.
      type: str
      returned: always
      sample: alice
    status:
      description: V(ok), V(expiring), V(expired) or V(invalid).
      type: str
      returned: always
      sample: expiring
    days_left:
      description: Whole days left.
      type: int
      returned: always
      sample: 12
    not_after:
      description: End of validity (UTC).
      type: str
      returned: always
      sample: "2026-03-14T10:00:00Z"
    serial:
      description: Serial number (decimal).
      type: str
      returned: always
      sample: "341977213463931436582136155296152446563722731452"
    revoked:
      description: Whether the serial is in the CRL.
      type: bool
      returned: always
      sample: false
crl:
  description:
    - The CRL. With C(exists), C(path), C(status) and, when it exists, C(issuer), C(last_update), C(next_update),
      C(days_left) (until the next update), C(revoked) (how many serials) and C(signed_by_ca).
  returned: always
  type: dict
  sample: {exists: true, path: /etc/openvpn/server/crl.pem, status: ok, next_update: "2026-08-29T10:00:00Z",
           days_left: 179, revoked: 2, signed_by_ca: true}
problems:
  description: One line per problem (each also emitted as an Ansible warning).
  returned: always
  type: list
  elements: str
  sample: ["the certificate of alice expires in 12 days (2026-03-14T10:00:00Z), less than 30"]
checked_at:
  description: When the report was made (UTC).
  returned: always
  type: str
  sample: "2026-03-02T10:00:00Z"
warn_days:
  description: The O(warn_days) used.
  returned: always
  type: int
  sample: 30
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._vpn_user import VpnPkiError, pki_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pki_dir=dict(type="path", default="/etc/openvpn/pki"),
            crl_path=dict(type="path", default="/etc/openvpn/server/crl.pem"),
            warn_days=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = module.params
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    try:
        report = pki_report(params["pki_dir"], params["crl_path"], params["warn_days"], now)
    except VpnPkiError as exc:
        module.fail_json(msg=str(exc))
    for warning in report["problems"]:
        module.warn(warning)
    module.exit_json(changed=False, **report)


if __name__ == "__main__":
    main()
