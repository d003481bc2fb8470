"""The package as an operator installs it: a wheel built from the checkout, installed outside it (what
the Docker image does), runs `remind campaigns` and `serve`. Offline: the dependencies are the test
environment's own, seen through a path file, never downloaded."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from pathlib import Path

import httpx

from bot.config import PROJECT_ROOT
from tests.web.serving import free_port


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def build_and_install(tmp_path: Path) -> Path:
    """The wheel of the tracked sources, installed into a fresh virtual environment; its bin folder."""
    source = tmp_path / "source"
    tracked = run("git", "ls-files", "pyproject.toml", "README.md", "bot", cwd=PROJECT_ROOT).stdout.split()
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
        "--wheel-dir", wheels, source, cwd=tmp_path)  # fmt: skip
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    target = venv / "bin" / "python"
    [wheel] = wheels.glob("*.whl")
    run(sys.executable, "-m", "pip", "--python", target, "install", "--quiet", "--no-deps", "--no-index", wheel,
        cwd=tmp_path)  # fmt: skip
    # The dependencies: this environment's, found after the venv's own packages (where `bot` is now).
    site = run(target, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).stdout
    (Path(site.strip()) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def test_the_wheel_installed_outside_the_checkout_runs_campaigns_and_serve(tmp_path):
    bin_dir = build_and_install(tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CONTENT_DIR", "PYTHONPATH"))}
    env["DATABASE_URL"] = f"sqlite:///{work}/helpdesk.db"
    where = run(bin_dir / "python", "-c", "import bot; print(bot.__file__)", cwd=work, env=env).stdout
    assert where.startswith(str(tmp_path / "venv")), where  # the installed copy, not the checkout

    campaigns = run(bin_dir / "helpdesk", "remind", "campaigns", cwd=work, env=env)
    assert campaigns.stdout.startswith("pending-mandatory: ")  # the campaign file is package data

    without_content = subprocess.run([bin_dir / "helpdesk", "serve"], cwd=work, env=env, capture_output=True,
                                     text=True, timeout=120)  # fmt: skip
    assert without_content.returncode != 0 and "set CONTENT_DIR" in without_content.stderr

    port = free_port()
    env["CONTENT_DIR"] = str(PROJECT_ROOT)  # as the Docker image sets it
    server = subprocess.Popen([bin_dir / "helpdesk", "serve", "--port", str(port)], cwd=work, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 90  # a guard against hanging, not a measurement
        while True:
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.2)
        assert (health.status_code, health.json()["database"]) == (200, "ok")
        assert httpx.get(f"http://127.0.0.1:{port}/staff/login").status_code == 200  # templates are package data
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()


def pins(lock: Path) -> dict[str, str]:
    """name -> version of every requirement a uv lock file pins."""
    found = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split(" ")[0].split("==")
            found[name.split("[")[0].lower()] = version
    return found


def test_the_images_lock_pins_what_ci_tested_and_every_run_time_dependency():
    tested, image = pins(PROJECT_ROOT / "requirements.lock"), pins(PROJECT_ROOT / "requirements-runtime.lock")
    assert {name: tested.get(name) for name in image} == image  # the same versions: `make lock` writes both
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[\[<>=]", requirement)[0].lower() for requirement in project["dependencies"]}
    assert declared <= image.keys()
    assert not {"pytest", "ruff", "mypy", "playwright"} & image.keys()  # test tools stay out of the image
