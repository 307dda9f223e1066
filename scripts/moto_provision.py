#!/usr/bin/env python3
"""Provision a moto server with the classic "one IAM user, MFA, roles in many
accounts" set-up that rolepick is built for.

What it creates (the same as the walkthrough does against real AWS):

* IAM user ``primary`` in the default account (123456789012) with one access
  key and a virtual MFA device ``arn:aws:iam::<acct>:mfa/primary``;
* an inline user policy ``assume-roles`` allowing only ``sts:AssumeRole`` on the
  role ARNs below and ``sts:GetSessionToken``;
* three roles, one per account, each trusting only that user and only with MFA
  (``Bool aws:MultiFactorAuth = true``):
  123456789012 ``primary-role``, 444455556666 ``developer``,
  777788889999 ``readonly``.

How resources land in another account: moto ties an access key to the account
it was issued in. ``sts:AssumeRole`` on a role ARN in account N (the role does
not need to exist in moto) returns keys that moto registers in account N, so
IAM calls signed with those keys create and list resources in account N. The
script checks that with ``iam:ListRoles`` under those keys.

Prints one JSON document on stdout. ``--write-home DIR`` also writes
``DIR/.aws/credentials`` (0600, dir 0700) and ``DIR/.aws/config``.

Never point this at real AWS: ``--endpoint`` must be a loopback URL.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import urllib.parse

import boto3
from botocore.config import Config

DEFAULT_ACCOUNT = "123456789012"  # moto's default account: the user's own
USER = "primary"
REGION = "eu-west-1"
ROLES = [
    # (profile name, account id, role name, extra profile settings)
    ("admin", DEFAULT_ACCOUNT, "primary-role", {}),
    ("dev", "444455556666", "developer", {"duration_seconds": "7200"}),
    ("readonly", "777788889999", "readonly", {}),
]
# Keys for talking to moto before the user exists. moto does not check
# signatures; these never leave the loopback interface.
BOOTSTRAP_KEY = ("AKIAMOTOBOOTSTRAP000", "moto-bootstrap-secret")


def die(msg: str) -> None:
    print(f"moto_provision: {msg}", file=sys.stderr)
    sys.exit(2)


def check_loopback(endpoint: str) -> None:
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    die(f"refusing endpoint {endpoint!r}: only loopback URLs (127.0.0.0/8, ::1, localhost)")


def client(service: str, endpoint: str, key: str, secret: str, token: str | None = None):
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}),
    )


def trust_policy(user_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": user_arn},
                    "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuth": "true"}},
                }
            ],
        }
    )


def user_policy(role_arns: list[str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arns},
                {"Effect": "Allow", "Action": "sts:GetSessionToken", "Resource": "*"},
            ],
        }
    )


def iam_in_account(endpoint: str, account: str):
    """An IAM client whose calls moto applies to `account`."""
    if account == DEFAULT_ACCOUNT:
        return client("iam", endpoint, *BOOTSTRAP_KEY)
    sts = client("sts", endpoint, *BOOTSTRAP_KEY)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/moto-provision",
        RoleSessionName="moto-provision",
    )["Credentials"]
    iam = client(
        "iam", endpoint, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    who = client(
        "sts", endpoint, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    ).get_caller_identity()
    if who["Account"] != account:
        die(f"moto put the bootstrap keys in account {who['Account']}, expected {account}")
    return iam


def provision(endpoint: str) -> dict:
    iam = client("iam", endpoint, *BOOTSTRAP_KEY)
    user = iam.create_user(UserName=USER)["User"]
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName=USER)["VirtualMFADevice"]
    serial = mfa["SerialNumber"]
    # moto accepts any two codes; real AWS needs two consecutive TOTP codes.
    iam.enable_mfa_device(
        UserName=USER, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )

    roles = []
    for profile, account, role_name, extra in ROLES:
        acct_iam = iam_in_account(endpoint, account)
        role = acct_iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=trust_policy(user["Arn"]),
            Description=f"rolepick test role for profile {profile}",
            MaxSessionDuration=43200,
        )["Role"]
        listed = [r["RoleName"] for r in acct_iam.list_roles()["Roles"]]
        if role_name not in listed or f":{account}:" not in role["Arn"]:
            die(f"role {role_name} did not land in account {account}: {role['Arn']} / {listed}")
        roles.append(
            {
                "profile": profile,
                "account_id": account,
                "role_name": role_name,
                "role_arn": role["Arn"],
                **extra,
            }
        )

    iam.put_user_policy(
        UserName=USER,
        PolicyName="assume-roles",
        PolicyDocument=user_policy([r["role_arn"] for r in roles]),
    )

    return {
        "endpoint": endpoint,
        "region": REGION,
        "user_name": USER,
        "user_arn": user["Arn"],
        "account_id": DEFAULT_ACCOUNT,
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
        "mfa_serial": serial,
        "account_ids": sorted({r["account_id"] for r in roles}),
        "roles": roles,
    }


def write_private(path: str, text: str) -> None:
    """Create `path` with mode 0600 from the start, then rename into place."""
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_home(home: str, out: dict) -> None:
    aws_dir = os.path.join(home, ".aws")
    os.makedirs(home, exist_ok=True)
    os.makedirs(aws_dir, mode=0o700, exist_ok=True)
    os.chmod(aws_dir, 0o700)
    write_private(
        os.path.join(aws_dir, "credentials"),
        "[primary]\n"
        f"aws_access_key_id = {out['access_key_id']}\n"
        f"aws_secret_access_key = {out['secret_access_key']}\n",
    )
    lines = ["[profile primary]", f"region = {out['region']}", ""]
    for r in out["roles"]:
        lines += [
            f"[profile {r['profile']}]",
            f"role_arn = {r['role_arn']}",
            "source_profile = primary",
            f"mfa_serial = {out['mfa_serial']}",
            f"region = {out['region']}",
        ]
        if "duration_seconds" in r:
            lines.append(f"duration_seconds = {r['duration_seconds']}")
        lines.append("")
    write_private(os.path.join(aws_dir, "config"), "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint", required=True, help="moto URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--write-home", metavar="DIR", help="write DIR/.aws/{credentials,config}")
    args = ap.parse_args()
    check_loopback(args.endpoint)
    # Never let a real profile or key of the caller leak into these calls.
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        del os.environ[var]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    out = provision(args.endpoint.rstrip("/"))
    if args.write_home:
        write_home(args.write_home, out)
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
