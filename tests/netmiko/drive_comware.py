"""Drive a Duet device over SSH with Netmiko's hp_comware driver, as network automation does.

Usage: drive_comware.py HOST PORT USER PASSWORD
Prints one line per step; exits nonzero (with the exception) when a step fails or a check does
not hold. Run by tests/netmiko.rs.
"""

import sys

from netmiko import ConnectHandler


def check(what, condition, text):
    if not condition:
        raise SystemExit(f"FAILED {what}:\n{text}")
    print(f"ok {what}", flush=True)


def main():
    host, port, user, password = sys.argv[1:5]
    conn = ConnectHandler(
        device_type="hp_comware",
        host=host,
        port=int(port),
        username=user,
        password=password,
        fast_cli=False,
        conn_timeout=20,
        auth_timeout=20,
        banner_timeout=20,
        session_log="netmiko-session.log",
    )
    prompt = conn.find_prompt()
    check("find_prompt", prompt == "<Dut>", repr(prompt))

    version = conn.send_command("display version")
    check("display version", "Duet" in version and "<Dut>" not in version, version)
    brief = conn.send_command("display interface brief")
    check("display interface brief", "GE1/0/1" in brief, brief)
    clock = conn.send_command("display clock")
    check("display clock", clock.strip() != "", clock)

    out = conn.send_config_set(
        [
            "interface GigabitEthernet1/0/1",
            "ip address 192.0.2.1 255.255.255.0",
            "quit",
            "dhcp server ip-pool netmiko",
            "network 192.0.2.0 mask 255.255.255.0",
            "gateway-list 192.0.2.1",
        ]
    )
    check("send_config_set", "%" not in out, out)
    check("back in user view", conn.find_prompt() == "<Dut>", conn.find_prompt())

    saved = conn.save_config()
    check("save_config", "successfully" in saved, saved)

    config = conn.send_command("display current-configuration")
    check(
        "configuration changed",
        "ip address 192.0.2.1 255.255.255.0" in config
        and "dhcp server ip-pool netmiko" in config
        and "gateway-list 192.0.2.1" in config,
        config,
    )
    saved_config = conn.send_command("display saved-configuration")
    check("saved configuration", "dhcp server ip-pool netmiko" in saved_config, saved_config)

    conn.disconnect()
    print("ok disconnect", flush=True)


if __name__ == "__main__":
    main()
