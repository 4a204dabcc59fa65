"""Firmware: coreboot and Heads targets built inside the environment image, boot-checked in QEMU.

Modules: targets (the data in coreboot/ and heads/), sources (pinned, cached downloads),
container (the build container every build shares), build (kind dispatch, and a coreboot
target in a --network=none container), boot (QEMU check), repro (double build), heads (Heads
plan and cache checks), standin (the Debian toolchain stand-in image).
"""
