#!/usr/bin/python
# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpn_user
short_description: Enrol or revoke a person on the OpenVPN gateway of an environment (certificate and TOTP)
version_added: 0.1.0
description:
  - Runs on the VPN gateway that the P(orocloud.ops.vpn_gateway#role) role set up, where the VPN's CA lives.
  - "O(state=present) enrols a person: a new key pair and a client certificate (ECDSA P-256, CN = O(name),
    extended key usage clientAuth) signed by the gateway's CA, and a TOTP secret (20 bytes from the operating
    system's random generator, base32) in O(otp_dir) in the format C(pam_google_authenticator) reads, with
    C(DISALLOW_REUSE) (a code is accepted once only) and C(RATE_LIMIT 3 30)."
  - "Three files go to O(export_dir) on the gateway, mode C(0600) in a C(0700) directory: C(<name>.ovpn), the
    OpenVPN profile with the CA, the certificate, the private key and the tls-crypt key inline and
    C(static-challenge \"TOTP code\" 1); C(<name>.otpauth), the C(otpauth://totp/) URI; C(<name>-totp.png), the
    same URI as a QR code for an authenticator app. The caller fetches them to the controller and removes them
    (the role's C(users) entry point does). The private key is not kept anywhere else."
  - Nothing secret is returned, logged or shown in a diff, at any verbosity; the generated key and seed are
    also registered as no_log values.
  - An enrolled person with a valid certificate and a TOTP secret is left alone. The certificate is renewed
    (new key, new profile, TOTP secret kept) when it expires within O(renew_before_days), is revoked, expired or
    was not issued by the current CA; a missing TOTP secret is made again (new URI and QR code, certificate
    kept). O(force=true) makes both again. A replaced certificate is revoked (reason superseded).
  - "O(state=absent) offboards a person: the certificate's serial is added to the CRL (signed by the CA and
    written atomically; OpenVPN reads it at every connection, C(crl-verify)), the certificate is filed under
    C(<pki_dir>/revoked/), the TOTP secret is removed and every live session of the person is ended through
    OpenVPN's management socket (C(client-kill <cid> HALT): the client stops instead of reconnecting)."
author:
  - orocloud.ops contributors (!UNKNOWN)
requirements:
  - Python 3.9 or later and the C(cryptography) library (Debian package C(python3-cryptography)) on the gateway.
  - C(qrencode) on the gateway (Debian package C(qrencode)) to enrol.
  - Root on the gateway (C(become=true)); the TOTP secrets must belong to root.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would be issued, revoked, removed or ended; writes nothing and ends no session.
  diff_mode:
    support: full
    details: The certificate's serial and expiry, whether a TOTP secret exists and the number of live sessions.
  platform:
    platforms: posix
options:
  name:
    description:
      - The person's VPN user name, the certificate's common name and the name of the TOTP secret file.
      - 1 to 63 characters, a lower-case letter first, then lower-case letters, digits, C(.), C(_) or C(-).
    type: str
    required: true
  state:
    description:
      - V(present) enrols (or renews), V(absent) revokes.
    type: str
    choices: [present, absent]
    default: present
  pki_dir:
    description:
      - The gateway's PKI directory (C(ca.crt), C(ca.key), C(server.crt), C(issued/), C(revoked/)).
    type: path
    default: /etc/openvpn/pki
  crl_path:
    description: The CRL that OpenVPN checks (C(crl-verify)).
    type: path
    default: /etc/openvpn/server/crl.pem
  otp_dir:
    description: The directory of the TOTP secrets (one file per person, named after them).
    type: path
    default: /etc/openvpn/otp
  tls_crypt_key_path:
    description: The server's tls-crypt key, copied into each profile.
    type: path
    default: /etc/openvpn/server/tls-crypt.key
  management_socket:
    description:
      - OpenVPN's management socket (C(management <path> unix)), to end live sessions on revocation.
      - When it does not exist or nobody listens on it (OpenVPN is not running) there is no session to end; a
        socket that does not answer fails the task before anything changes.
    type: path
    default: /run/openvpn-server/orocloud.sock
  remote_host:
    description: The gateway's public address or name, written into the profile (C(remote)). Required to enrol.
    type: str
  remote_port:
    description: The gateway's UDP port, written into the profile.
    type: int
    default: 31194
  data_ciphers:
    description: The profile's C(data-ciphers), the same list as the server's.
    type: str
    default: AES-256-GCM:CHACHA20-POLY1305
  export_dir:
    description:
      - The directory on the gateway where a new profile, URI and QR code are written (created C(0700)).
      - The caller fetches the files it lists in RV(files) and removes the directory. Required to enrol.
    type: path
  days:
    description: How many days a new client certificate is valid (never beyond the CA's own expiry).
    type: int
    default: 365
  renew_before_days:
    description: Renew the certificate when it expires in fewer days than this.
    type: int
    default: 30
  crl_days:
    description: How many days a CRL written by this module is valid (its next update).
    type: int
    default: 180
  totp_issuer:
    description: The issuer shown by the authenticator app, for example the environment's name.
    type: str
    default: orocloud
  comment:
    description: A comment for the profile's first line, for example the environment.
    type: str
  force:
    description: Make a new certificate and a new TOTP secret even when the person is enrolled.
    type: bool
    default: false
  reason:
    description: The CRL reason of a revocation (O(state=absent)).
    type: str
    choices: [cessation_of_operation, superseded, key_compromise, affiliation_changed, unspecified]
    default: cessation_of_operation
notes:
  - The OpenVPN server takes the TOTP code from the static-challenge response and checks it against the secret of
    the certificate's common name (PAM user = certificate CN), so a person cannot use somebody else's code with
    their certificate; the user name typed must also be the certificate's CN.
seealso:
  - module: orocloud.ops.vpn_pki_info
"""

EXAMPLES = r"""
- name: Enrol alice (files land in /run/orocloud-vpn-export/alice on the gateway)
  orocloud.ops.vpn_user:
    name: alice
    remote_host: 203.0.113.20
    export_dir: /run/orocloud-vpn-export/alice
    totp_issuer: acme-prod VPN
  become: true
  register: alice

- name: Fetch alice's profile, URI and QR code to the controller
  ansible.builtin.fetch:
    src: "{{ item }}"
    dest: "{{ lookup('ansible.builtin.env', 'HOME') }}/vpn-profiles/alice/"
    flat: true
  loop: "{{ alice.files }}"

- name: Remove the files from the gateway
  ansible.builtin.file:
    path: /run/orocloud-vpn-export/alice
    state: absent
  become: true

- name: Offboard bob (CRL, TOTP secret, live sessions)
  orocloud.ops.vpn_user:
    name: bob
    state: absent
  become: true

- name: Give carol a new certificate and a new TOTP secret (lost phone and laptop)
  orocloud.ops.vpn_user:
    name: carol
    force: true
    remote_host: vpn.acme.example
    export_dir: /run/orocloud-vpn-export/carol
  become: true
"""

RETURN = r"""
name:
  description: The person's VPN user name.
  returned: always
  type: str
  sample: alice
state:
  description: The state asked for.
  returned: always
  type: str
  sample: present
certificate:
  description: The person's certificate after the task (V(null) when revoked). Nothing secret.
  returned: always
  type: dict
  contains:
    subject:
      description: The subject (RFC 4514).
      type: str
      returned: success
      sample: CN=alice
    common_name:
      description: The common name.
      type: str
      returned: success
      sample: alice
    serial:
      description: The serial number, in decimal (as OpenVPN logs it).
      type: str
      returned: success
      sample: "341977213463931436582136155296152446563722731452"
    not_before:
      description: Start of validity (UTC).
      type: str
      returned: success
      sample: "2026-03-02T09:55:00Z"
    not_after:
      description: End of validity (UTC).
      type: str
      returned: success
      sample: "2027-03-02T10:00:00Z"
    days_left:
      description: Whole days left.
      type: int
      returned: success
      sample: 364
    fingerprint_sha256:
      description: SHA-256 fingerprint of the certificate.
      type: str
      returned: success
      sample: "3A:1F:...:C2"
totp_secret:
  description: Whether the person has a TOTP secret on the gateway after the task.
  returned: always
  type: bool
  sample: true
files:
  description:
    - The files written to O(export_dir) (profile, otpauth URI, QR code), to fetch and remove. Empty when nothing
      new was made, and in check mode.
  returned: always
  type: list
  elements: str
  sample: [/run/orocloud-vpn-export/alice/alice.ovpn, /run/orocloud-vpn-export/alice/alice.otpauth,
           /run/orocloud-vpn-export/alice/alice-totp.png]
revoked_serials:
  description: Serials added to the CRL by this task (the person's certificate, or the one a renewal replaced).
  returned: always
  type: list
  elements: str
  sample: ["341977213463931436582136155296152446563722731452"]
sessions_dropped:
  description: Live sessions of the person ended through the management socket.
  returned: when O(state=absent)
  type: int
  sample: 1
reasons:
  description: Why a certificate or TOTP secret was made.
  returned: always
  type: list
  elements: str
  sample: [no certificate, no TOTP secret]
msg:
  description: What was done.
  returned: always
  type: str
  sample: "alice: new certificate and TOTP secret (no certificate, no TOTP secret)"
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.orocloud.ops.plugins.module_utils._vpn_user import (
    REASONS,
    Host,
    VpnPkiError,
    manage_user,
)


def argument_spec():
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        pki_dir=dict(type="path", default="/etc/openvpn/pki"),
        crl_path=dict(type="path", default="/etc/openvpn/server/crl.pem"),
        otp_dir=dict(type="path", default="/etc/openvpn/otp"),
        tls_crypt_key_path=dict(type="path", default="/etc/openvpn/server/tls-crypt.key", no_log=False),
        management_socket=dict(type="path", default="/run/openvpn-server/orocloud.sock"),
        remote_host=dict(type="str"),
        remote_port=dict(type="int", default=31194),
        data_ciphers=dict(type="str", default="AES-256-GCM:CHACHA20-POLY1305"),
        export_dir=dict(type="path"),
        days=dict(type="int", default=365),
        renew_before_days=dict(type="int", default=30),
        crl_days=dict(type="int", default=180),
        totp_issuer=dict(type="str", default="orocloud"),
        comment=dict(type="str"),
        force=dict(type="bool", default=False),
        reason=dict(type="str", choices=list(REASONS), default="cessation_of_operation"),
    )


def host_of(module):
    def run(argv, data=None):
        rc, out, err = module.run_command(argv, data=data, binary_data=True, encoding=None, handle_exceptions=False)
        return rc, out, err.decode("utf-8", "replace") if isinstance(err, bytes) else err

    return Host(run, module.atomic_move, protect=module.no_log_values.add)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("state", "present", ("remote_host", "export_dir"))],
        supports_check_mode=True,
    )
    old_umask = os.umask(0o077)  # every file and directory this module makes is private to root
    try:
        result = manage_user(module.params, host_of(module), module.check_mode)
    except VpnPkiError as exc:
        module.fail_json(msg=str(exc), name=module.params["name"])
    finally:
        os.umask(old_umask)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
