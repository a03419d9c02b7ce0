"""A non-editable install works without the source tree (issue 7): build a wheel, install it
into a fresh virtual environment that sees neither the source tree nor the editable install,
and run what a new user runs first, from an empty folder. The fresh environment gets the
dependencies by a ``.pth`` line naming this interpreter's site-packages (a plain path
entry: ``.pth`` files there, such as the editable install's finder, are not processed).

Also checks that the packaged data are the NIR paper's files, byte for byte."""

import gzip
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile

import pytest

from conftest import PAPER, ROOT

TOP = {"nirjax": "nirjax", "semantics": "nirjax.semantics", "solvers": "nirjax.solvers",
       "paper_reproductions": "nirjax.reproductions"}


def test_every_source_package_is_installed():
    """A package folder (with __init__.py) missing from pyproject's list would silently not
    be installed (e.g. a new nirjax/training/)."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    assert cfg["package-dir"] == {name: folder for folder, name in TOP.items()}
    found = set()
    for folder, name in TOP.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    assert found == listed, (found - listed, listed - found)


def test_bundled_recordings_are_the_paper_files():
    folder = ROOT / "nirjax" / "data"
    for gz in folder.glob("*.csv.gz"):
        assert gzip.decompress(gz.read_bytes()) == (PAPER / "01_lif" / gz.name[:-3]).read_bytes(), gz.name
    assert (folder / "lif_norse.nir").read_bytes() == (PAPER / "01_lif" / "lif_norse.nir").read_bytes()
    inp = (folder / "lif_input.csv").read_text().split()
    exact = [row.split(",")[0] for row in (PAPER / "01_lif" / "lif_exact.csv").read_text().split()]
    assert [float(v) for v in inp] == [float(v) for v in exact]
    recorded = {p.name for p in (PAPER / "01_lif").glob("*.csv")}
    assert {p.name[:-3] for p in folder.glob("*.csv.gz")} == recorded


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"  # build from a copy: pip builds in-tree (build/, *.egg-info)
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".peers", "build", "*.egg-info", "__pycache__", "tests", "benchmarks", "*.png"))
    wheels = tmp / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = wheels.glob("nirjax-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = pathlib.Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                       capture_output=True, text=True, check=True).stdout.strip())
    (site / "_nirjax_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-index",
                        str(wheel)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    shutil.rmtree(src)  # nothing of the source copy remains
    empty = tmp / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NIRJAX"))}
    return dict(wheel=wheel, py=py, bin=env_dir / "bin", site=site, cwd=empty, env=env)


def _run(inst, args, timeout=600):
    return subprocess.run(args, cwd=inst["cwd"], env=inst["env"], capture_output=True, text=True, timeout=timeout)


def test_wheel_installs_everything_under_nirjax(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"nirjax", "nirjax-0.1.0.dist-info"}, tops
    for f in ("nirjax/semantics/network.py", "nirjax/solvers/stepped.py", "nirjax/reproductions/01_lif/lif.py",
              "nirjax/data/lif_norse.nir", "nirjax/data/lif_spyx.csv.gz", "nirjax/data/ATTRIBUTION.md"):
        assert f in names, f


def test_installed_copy_is_imported_and_top_level_names_are_gone(installed):
    code = ("import sys, nirjax, nirjax.semantics.platforms\n"
            "print(nirjax.__file__)\n"
            "for m in ('semantics', 'solvers', 'paper_reproductions'):\n"
            "    try:\n"
            "        __import__(m)\n"
            "    except ModuleNotFoundError:\n"
            "        print('absent', m)\n"
            "print(nirjax.data.path('lif_norse.nir'))\n")
    r = _run(installed, [str(installed["py"]), "-c", code])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert pathlib.Path(lines[0]).is_relative_to(installed["site"]), lines[0]
    assert lines[1:4] == ["absent semantics", "absent solvers", "absent paper_reproductions"]
    assert pathlib.Path(lines[4]).is_relative_to(installed["site"])
    assert str(ROOT) not in r.stdout


def test_demo_runs_from_an_empty_folder(installed):
    r = _run(installed, [str(installed["bin"] / "nirjax"), "demo"])
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    out = r.stdout
    assert "exact spike times (ms): 46.084386, 51.089752, 71.091961, 76.090890" in out
    recorded = re.findall(r"^(exact|norse|snntorch|lava|spyx|sinabs|rockpool|nengo) .* (yes|NO)\s*$", out, flags=re.M)
    assert len(recorded) == 8 and all(ok == "yes" for _, ok in recorded), out  # the paper's recordings, matched


def test_reproduce_lif_from_an_empty_folder(installed):
    out = installed["cwd"] / "lif_out"
    r = _run(installed, [str(installed["bin"] / "nirjax"), "reproduce", "lif", "--out", str(out)])
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "results.json").read_text())
    rec = {k: v for k, v in res.items() if "reproduced" in v}
    assert len(rec) == 8 and all(v["reproduced"] for v in rec.values()), rec.keys()
    assert (out / "table.txt").stat().st_size > 0 and (out / "lif_comparison.png").stat().st_size > 0


def test_all_lists_every_public_name():
    """``__all__`` is the public API: every public attribute of ``nirjax`` (not a submodule
    imported on the way) is in it, and every name in it exists."""
    import types

    import nirjax

    public = {n for n in dir(nirjax) if not n.startswith("_") and not isinstance(getattr(nirjax, n), types.ModuleType)}
    modules = {n for n in nirjax.__all__ if isinstance(getattr(nirjax, n, None), types.ModuleType)}
    assert public == set(nirjax.__all__) - modules, (public - set(nirjax.__all__), set(nirjax.__all__) - public)
    assert "data" in modules
    assert len(nirjax.__all__) == len(set(nirjax.__all__))
    assert issubclass(nirjax.PlatformError, nirjax.UnsupportedError)
